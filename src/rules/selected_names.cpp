#include "rules/selected_names.hpp"

#include <variant>

namespace tocsin::rules::detail {

namespace {

void add_selector(const promql::VectorSelector& selector, SelectedNames& out) {
  std::vector<store::Matcher> on_name;
  for (const store::Matcher& m : selector.matchers) {
    if (m.name() != kMetricNameLabel) continue;
    if (m.type() == MatchType::equal) {
      out.names.insert(m.value());
      return;
    }
    on_name.push_back(m);
  }
  if (on_name.empty()) {
    out.any = true;
  } else {
    out.name_matchers.push_back(std::move(on_name));
  }
}

void walk(const promql::Expr& expr, SelectedNames& out) {
  auto sub = [&](const promql::ExprPtr& e) {
    if (e) walk(*e, out);
  };
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, promql::VectorSelector>) {
          add_selector(node, out);
        } else if constexpr (std::is_same_v<T, promql::MatrixSelector>) {
          add_selector(node.selector, out);
        } else if constexpr (std::is_same_v<T, promql::Subquery> || std::is_same_v<T, promql::Paren> ||
                             std::is_same_v<T, promql::Unary>) {
          sub(node.expr);
        } else if constexpr (std::is_same_v<T, promql::Binary>) {
          sub(node.lhs);
          sub(node.rhs);
        } else if constexpr (std::is_same_v<T, promql::Aggregate>) {
          sub(node.expr);
          sub(node.param);
        } else if constexpr (std::is_same_v<T, promql::Call>) {
          for (const auto& arg : node.args) sub(arg);
        }
      },
      expr.node);
}

}  // namespace

bool SelectedNames::may_select(std::string_view metric_name) const {
  if (any || names.find(metric_name) != names.end()) return true;
  for (const auto& conjunction : name_matchers) {
    bool all = true;
    for (const store::Matcher& m : conjunction) all = all && m.matches(metric_name);
    if (all) return true;
  }
  return false;
}

void add_selected_names(const promql::Expr& expr, SelectedNames& out) { walk(expr, out); }

SelectedNames selected_names(const GroupDefinition& group) {
  SelectedNames out;
  for (const RuleDefinition& rule : group.rules) {
    if (rule.expr && !rule.slo) walk(*rule.expr, out);
  }
  return out;
}

}  // namespace tocsin::rules::detail
