// Names of types and operators, and printing expressions back as PromQL (the normalized form
// Prometheus shows in /api/v1/rules and in error messages).

#include "tocsin/promql/ast.hpp"

#include <charconv>
#include <cmath>

#include "promql/functions.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::promql {

std::string_view to_string(ValueType type) {
  switch (type) {
    case ValueType::scalar: return "scalar";
    case ValueType::vector: return "instant vector";
    case ValueType::matrix: return "range vector";
    case ValueType::string: return "string";
  }
  return "unknown";
}

std::string_view to_string(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "+";
    case BinaryOp::sub: return "-";
    case BinaryOp::mul: return "*";
    case BinaryOp::div: return "/";
    case BinaryOp::mod: return "%";
    case BinaryOp::pow: return "^";
    case BinaryOp::atan2: return "atan2";
    case BinaryOp::eql: return "==";
    case BinaryOp::neq: return "!=";
    case BinaryOp::gtr: return ">";
    case BinaryOp::lss: return "<";
    case BinaryOp::gte: return ">=";
    case BinaryOp::lte: return "<=";
    case BinaryOp::land: return "and";
    case BinaryOp::lor: return "or";
    case BinaryOp::lunless: return "unless";
  }
  return "?";
}

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::eql || op == BinaryOp::neq || op == BinaryOp::gtr || op == BinaryOp::lss ||
         op == BinaryOp::gte || op == BinaryOp::lte;
}

bool is_set_operator(BinaryOp op) {
  return op == BinaryOp::land || op == BinaryOp::lor || op == BinaryOp::lunless;
}

std::string_view to_string(AggregateOp op) {
  switch (op) {
    case AggregateOp::sum: return "sum";
    case AggregateOp::avg: return "avg";
    case AggregateOp::min: return "min";
    case AggregateOp::max: return "max";
    case AggregateOp::count: return "count";
    case AggregateOp::stddev: return "stddev";
    case AggregateOp::stdvar: return "stdvar";
    case AggregateOp::topk: return "topk";
    case AggregateOp::bottomk: return "bottomk";
    case AggregateOp::quantile: return "quantile";
    case AggregateOp::count_values: return "count_values";
    case AggregateOp::group: return "group";
  }
  return "?";
}

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string label_list(const std::vector<std::string>& labels) {
  std::string out = "(";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ", ";
    out += labels[i];
  }
  return out + ")";
}

std::string modifiers(Duration offset, const std::optional<AtModifier>& at) {
  std::string out;
  if (at) {
    switch (at->kind) {
      case AtModifier::Kind::start: out += " @ start()"; break;
      case AtModifier::Kind::end: out += " @ end()"; break;
      case AtModifier::Kind::timestamp: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(at->t) / 1000.0);
        out += std::string(" @ ") + buf;
      }
    }
  }
  if (offset > Duration(0)) out += " offset " + format_duration(offset);
  if (offset < Duration(0)) out += " offset -" + format_duration(-offset);
  return out;
}

std::string selector(const VectorSelector& vs) {
  std::string out = vs.name;
  std::string matchers;
  for (const auto& m : vs.matchers) {
    if (!vs.name.empty() && m.name() == kMetricNameLabel && m.type() == MatchType::equal) continue;
    if (!matchers.empty()) matchers += ", ";
    matchers += m.name() + std::string(tocsin::to_string(m.type())) + quote(m.value());
  }
  if (!matchers.empty() || vs.name.empty()) out += "{" + matchers + "}";
  return out;
}

}  // namespace

std::string to_string(const Expr& expr) {
  return std::visit(
      [&](const auto& n) -> std::string {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, NumberLiteral>) {
          return number(n.value);
        } else if constexpr (std::is_same_v<T, StringLiteral>) {
          return quote(n.value);
        } else if constexpr (std::is_same_v<T, VectorSelector>) {
          return selector(n) + modifiers(n.offset, n.at);
        } else if constexpr (std::is_same_v<T, MatrixSelector>) {
          return selector(n.selector) + "[" + format_duration(n.range) + "]" +
                 modifiers(n.selector.offset, n.selector.at);
        } else if constexpr (std::is_same_v<T, Subquery>) {
          return to_string(*n.expr) + "[" + format_duration(n.range) + ":" +
                 (n.step > Duration(0) ? format_duration(n.step) : "") + "]" + modifiers(n.offset, n.at);
        } else if constexpr (std::is_same_v<T, Paren>) {
          return "(" + to_string(*n.expr) + ")";
        } else if constexpr (std::is_same_v<T, Unary>) {
          return std::string(n.negate ? "-" : "+") + to_string(*n.expr);
        } else if constexpr (std::is_same_v<T, Binary>) {
          std::string op(to_string(n.op));
          if (n.return_bool) op += " bool";
          if (n.matching) {
            const VectorMatching& m = *n.matching;
            if (m.on || !m.labels.empty())
              op += std::string(m.on ? " on" : " ignoring") + label_list(m.labels);
            if (m.card == Cardinality::many_to_one)
              op += " group_left" + (m.include.empty() ? "" : label_list(m.include));
            if (m.card == Cardinality::one_to_many)
              op += " group_right" + (m.include.empty() ? "" : label_list(m.include));
          }
          return to_string(*n.lhs) + " " + op + " " + to_string(*n.rhs);
        } else if constexpr (std::is_same_v<T, Aggregate>) {
          std::string out(to_string(n.op));
          // As Prometheus's printer: "sum(x)", "sum by (job) (x)", "sum without () (x)".
          if (n.without || !n.grouping.empty()) {
            out += std::string(n.without ? " without " : " by ") + label_list(n.grouping) + " ";
          }
          out += "(";
          if (n.param) out += to_string(*n.param) + ", ";
          return out + to_string(*n.expr) + ")";
        } else {
          std::string out = std::string(n.function->name) + "(";
          for (std::size_t i = 0; i < n.args.size(); ++i) {
            if (i) out += ", ";
            out += to_string(*n.args[i]);
          }
          return out + ")";
        }
      },
      expr.node);
}

}  // namespace tocsin::promql
