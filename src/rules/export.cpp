// `tocsin rules export`: rule files as plain Prometheus rule files (export.hpp; docs/rules.md,
// "Exporting to Prometheus", says what maps exactly and what does not).

#include "tocsin/rules/export.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "rules/export_yaml.hpp"
#include "tocsin/core/duration.hpp"

namespace tocsin::rules {

namespace {

using namespace export_detail;

// Lines of YAML, each at an indentation.
class Lines {
 public:
  void add(int indent, const std::string& text) {
    out_ += std::string(static_cast<std::size_t>(indent), ' ') + text + "\n";
  }
  void comment(int indent, const std::string& text) { add(indent, "# " + text); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string comparison(const Threshold& t) {
  if (t.direction == Threshold::Direction::above) return t.inclusive ? ">=" : ">";
  return t.inclusive ? "<=" : "<";
}

// The comparison that holds exactly when `t` does not (NaN aside).
std::string complement(const Threshold& t) {
  if (t.direction == Threshold::Direction::above) return t.inclusive ? "<" : "<=";
  return t.inclusive ? ">" : ">=";
}

// The expression as an operand: parenthesised, with a line break before the ")" when a PromQL comment
// would otherwise swallow it.
std::string operand(const std::string& expr) {
  std::string e = expr;
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  const bool comment = e.find('#') != std::string::npos;
  return "(" + e + (comment ? "\n)" : ")");
}

std::string indent_lines(const std::string& text, int n) {
  std::string out;
  const std::string pad(static_cast<std::size_t>(n), ' ');
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += (start == 0 ? "" : "\n") + (end > start ? pad + text.substr(start, end - start) : "");
    start = end + 1;
  }
  return out;
}

std::string regex_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void write_map(Lines& out, int indent, const char* key,
               const std::vector<std::pair<std::string, std::string>>& kv) {
  if (kv.empty()) return;
  out.add(indent, std::string(key) + ":");
  for (const auto& [name, text] : kv) out.add(indent + 2, name + ": " + scalar(text, indent + 4));
}

std::string duration(Duration d) { return format_duration(d); }

void write_recording(Lines& out, const RuleDefinition& r) {
  out.add(6, "- record: " + quoted(r.name));
  out.add(8, "expr: " + scalar(r.expr_text, 10));
  write_map(out, 8, "labels", r.label_texts);
}

void write_alerting(Lines& out, const RuleDefinition& r) {
  if (!r.escalation.empty()) out.comment(6, "dropped (tocsin only): escalation: " + r.escalation);
  out.add(6, "- alert: " + quoted(r.name));
  out.add(8, "expr: " + scalar(r.expr_text, 10));
  if (r.for_duration > Duration(0)) out.add(8, "for: " + duration(r.for_duration));
  if (r.keep_firing_for > Duration(0)) out.add(8, "keep_firing_for: " + duration(r.keep_firing_for));
  write_map(out, 8, "labels", r.label_texts);
  write_map(out, 8, "annotations", r.annotation_texts);
}

// One alerting rule per tier, the most severe first: each rule of a group sees the ALERTS its
// predecessors wrote at the same evaluation, so a less severe tier is `unless` a more severe one fires
// now (tocsin's alert is at one tier at a time), and the lowest tier's clear band reads its own ALERTS of
// the previous evaluation.
void write_tiered(Lines& out, const RuleDefinition& r) {
  std::string words;
  for (const Tier& t : r.tiers)
    words += (words.empty() ? "" : ", ") + t.severity + " " + t.threshold.to_string() + " for " +
             duration(t.for_duration);
  if (r.clear)
    words += "; clear " + r.clear->threshold.to_string() + " for " + duration(r.clear->for_duration);
  out.comment(6, "tocsin tiered rule " + r.name + ": " + words + ".");
  out.comment(
      6, "One Prometheus alert per tier, the most severe first (docs/rules.md, Exporting to Prometheus).");
  if (!r.escalation.empty()) out.comment(6, "dropped (tocsin only): escalation: " + r.escalation);

  // The labels ALERTS has beyond the expression's result.
  std::string ignoring = "ignoring(alertname, alertstate, severity";
  for (const auto& [name, text] : r.label_texts) {
    if (name != "severity") ignoring += ", " + name;
  }
  ignoring += ")";
  const std::string value = operand(r.expr_text);
  const std::string name = promql_string(r.name);
  for (std::size_t n = r.tiers.size(); n-- > 0;) {
    const Tier& tier = r.tiers[n];
    std::string expr = value + " " + comparison(tier.threshold) + " " + number(tier.threshold.value);
    const Duration keep = r.keep_firing_for;
    if (n == 0 && r.clear) {
      // Firing, it stays until the clear threshold has held for clear's `for`: while the value was on
      // this side of it at some evaluation that long ago or since (the subquery's steps are the
      // evaluation interval). keep_firing_for would keep this tier firing beside a more severe one.
      const std::string band = complement(r.clear->threshold) + " " + number(r.clear->threshold.value);
      std::string held = value + " " + band;
      if (r.clear->for_duration > Duration(0)) {
        held = value + "\n  and max_over_time((" + value + " " + complement(r.clear->threshold) + " bool " +
               number(r.clear->threshold.value) + ")[" + duration(r.clear->for_duration) + ":]) == 1";
      }
      expr += "\nor\n" + held + "\n  and " + ignoring + " ALERTS{alertname=" + name +
              ", severity=" + promql_string(tier.severity) + ", alertstate=\"firing\"}";
    }
    if (n + 1 < r.tiers.size()) {
      std::string worse;
      for (std::size_t k = n + 1; k < r.tiers.size(); ++k)
        worse += (worse.empty() ? "" : "|") + regex_quote(r.tiers[k].severity);
      const std::string matcher = n + 2 == r.tiers.size()
                                      ? "severity=" + promql_string(r.tiers[n + 1].severity)
                                      : "severity=~" + promql_string(worse);
      if (n == 0 && r.clear) expr = "(\n" + indent_lines(expr, 2) + "\n)";
      expr +=
          "\nunless " + ignoring + " ALERTS{alertname=" + name + ", " + matcher + ", alertstate=\"firing\"}";
    }
    out.add(6, "- alert: " + quoted(r.name));
    out.add(8, "expr: " + scalar(expr, 10));
    if (tier.for_duration > Duration(0)) out.add(8, "for: " + duration(tier.for_duration));
    if (keep > Duration(0)) out.add(8, "keep_firing_for: " + duration(keep));
    auto labels = r.label_texts;
    labels.emplace_back("severity", tier.severity);
    std::sort(labels.begin(), labels.end());
    write_map(out, 8, "labels", labels);
    write_map(out, 8, "annotations", r.annotation_texts);
  }
}

// Sloth's rules for an SLO: the error ratio over each window, the objective and budget series, and the
// multiwindow multi-burn-rate page and ticket alerts. tocsin's own budget history (buckets over the
// window, rates times spans) has no PromQL equivalent: the ratios here are rate()s over each window,
// as Sloth computes them.
void write_slo(Lines& out, const GroupDefinition& group, const RuleDefinition& r) {
  const slo::Definition& d = *r.slo;
  out.add(2, "- name: " + quoted(group.name));
  if (group.interval) out.add(4, "interval: " + duration(*group.interval));
  out.comment(4, "SLO " + d.name + " as Sloth's recording rules and burn-rate alerts.");
  out.comment(4,
              "Not the same as tocsin's: the error ratios are rate()s over each window, not tocsin's budget");
  out.comment(4, "history (events counted at each evaluation, kept in buckets over the window).");
  std::vector<std::string> dropped;
  if (!d.exclude.empty()) dropped.emplace_back("exclude");
  if (d.page.min_events > 0 || d.ticket.min_events > 0) dropped.emplace_back("min_events");
  if (d.page.min_budget_spent > 0 || d.ticket.min_budget_spent > 0) dropped.emplace_back("min_budget_spent");
  if (!d.page.escalation.empty() || !d.ticket.escalation.empty() || !d.exhausted.escalation.empty())
    dropped.emplace_back("escalation");
  dropped.emplace_back("bucket");
  dropped.emplace_back("the alerts' summary and description words (Sloth's templates instead)");
  std::string list;
  for (const auto& s : dropped) list += (list.empty() ? "" : ", ") + s;
  out.comment(4, "dropped (tocsin only): " + list);
  out.add(4, "rules:");

  std::vector<std::pair<std::string, std::string>> base = {
      {"sloth_id", d.id()}, {"sloth_service", d.service}, {"sloth_slo", d.name}};
  for (const auto& kv : d.labels) base.push_back(kv);
  std::sort(base.begin(), base.end());
  const std::string ids = "sloth_id=" + promql_string(d.id()) +
                          ", sloth_service=" + promql_string(d.service) +
                          ", sloth_slo=" + promql_string(d.name);
  // 99.9 % is 0.9990000000000001 as a double: written with 15 digits, as the file has it.
  auto figure = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.15g", v);
    return std::string(buf);
  };
  const double budget = std::stod(figure(1 - std::stod(figure(d.objective))));

  std::vector<Duration> windows = {std::chrono::minutes(5), std::chrono::minutes(30), std::chrono::hours(1),
                                   std::chrono::hours(2),   std::chrono::hours(6),    std::chrono::hours(24),
                                   std::chrono::hours(72)};
  if (std::find(windows.begin(), windows.end(), d.window) == windows.end()) windows.push_back(d.window);
  auto error_ratio = [&](Duration w) -> std::string {
    const std::string win = slo::window_name(w);
    if (d.indicator == slo::Definition::Indicator::threshold) {
      // A time slice is bad when one of the expression's samples breaks the bound.
      Threshold bad;
      bad.direction = d.bound.direction == slo::Bound::Direction::above ? Threshold::Direction::above
                                                                        : Threshold::Direction::below;
      bad.inclusive = d.bound.inclusive;
      // Over a day or more, 720 slices of the window: a subquery at the evaluation interval over 30 days
      // loads more samples than Prometheus's default limit.
      const std::string step = w > std::chrono::hours(12) ? slo::window_name(w / 720) : "";
      return "avg_over_time(\n  (max(" + operand(d.threshold_text) + " " + complement(bad) + " bool " +
             number(d.bound.value) + "))[" + win + ":" + step + "]\n)";
    }
    if (d.indicator == slo::Definition::Indicator::latency) {
      std::string inner = d.selector.size() >= 2 ? d.selector.substr(1, d.selector.size() - 2) : "";
      const bool none = inner.find_first_not_of(' ') == std::string::npos;
      const std::string good = "sum(rate(" + d.histogram + "_bucket{" + inner + (none ? "" : ", ") + "le=\"" +
                               number(d.below) + "\"}[" + win + "]))";
      const std::string total = "sum(rate(" + d.histogram + "_count{" + inner + "}[" + win + "]))";
      return "1 - (\n  " + good + "\n  /\n  " + total + "\n)";
    }
    const std::string total = "sum(" + slo::expand_window(d.total_text, win) + ")";
    if (!d.errors_text.empty())
      return "(sum(" + slo::expand_window(d.errors_text, win) + ") or vector(0))\n/\n" + total;
    return "1 - (\n  sum(" + slo::expand_window(d.good_text, win) + ")\n  /\n  " + total + "\n)";
  };
  const std::string period = slo::window_name(d.window);
  for (Duration w : windows) {
    auto labels = base;
    labels.emplace_back("sloth_window", slo::window_name(w));
    std::sort(labels.begin(), labels.end());
    out.add(6, "- record: " + quoted("slo:sli_error:ratio_rate" + slo::window_name(w)));
    out.add(8, "expr: " + scalar(error_ratio(w), 10));
    write_map(out, 8, "labels", labels);
  }
  auto constant = [&](const std::string& record, const std::string& expr) {
    out.add(6, "- record: " + quoted(record));
    out.add(8, "expr: " + scalar(expr, 10));
    write_map(out, 8, "labels", base);
  };
  constant("slo:objective:ratio", "vector(" + figure(d.objective) + ")");
  constant("slo:error_budget:ratio", "vector(" + figure(budget) + ")");
  constant("slo:time_period:days",
           "vector(" + figure(std::chrono::duration<double>(d.window).count() / 86400) + ")");
  constant("slo:current_burn_rate:ratio", "max without (sloth_window) (slo:sli_error:ratio_rate5m{" + ids +
                                              "})\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n" +
                                              "slo:error_budget:ratio{" + ids + "}");
  constant("slo:period_burn_rate:ratio", "max without (sloth_window) (slo:sli_error:ratio_rate" + period +
                                             "{" + ids +
                                             "})\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n" +
                                             "slo:error_budget:ratio{" + ids + "}");
  constant("slo:period_error_budget_remaining:ratio", "1 - slo:period_burn_rate:ratio{" + ids + "}");

  auto burn = [&](const slo::BurnAlert& alert, const char* kind) {
    if (!alert.enabled || alert.windows.empty()) return;
    std::string expr;
    for (const slo::BurnWindow& pair : alert.windows) {
      const std::string over =
          " > (" + figure(pair.factor) + " * " + figure(budget) + ")) without (sloth_window)";
      const std::string one = "max(slo:sli_error:ratio_rate" + slo::window_name(pair.short_window) + "{" +
                              ids + "}" + over + "\nand\nmax(slo:sli_error:ratio_rate" +
                              slo::window_name(pair.long_window) + "{" + ids + "}" + over;
      expr += (expr.empty() ? "" : "\nor\n") + std::string("(\n") + indent_lines(one, 2) + "\n)";
    }
    out.add(6, "- alert: " + quoted(d.alert_name));
    out.add(8, "expr: " + scalar(expr, 10));
    // The SLO's identity labels as rule labels too (the series have them already), so that the alerts of
    // several SLOs in one file are not duplicate rules to promtool.
    auto labels = base;
    labels.emplace_back("severity", alert.severity);
    labels.emplace_back("sloth_severity", kind);
    std::sort(labels.begin(), labels.end());
    write_map(out, 8, "labels", labels);
    write_map(
        out, 8, "annotations",
        {{"summary",
          "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over "
          "expected."},
         {"title", std::string("(") + kind +
                       ") {{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is "
                       "too fast."}});
  };
  burn(d.page, "page");
  burn(d.ticket, "ticket");
  if (d.exhausted.enabled) {
    out.comment(6,
                "tocsin fires this once the errors so far spend the budget of the whole window's traffic;");
    out.comment(6,
                "here: once the window's error ratio reaches the budget (the same once history covers it).");
    out.add(6, "- alert: " + quoted(d.exhausted.name));
    out.add(8, "expr: " + scalar("slo:period_error_budget_remaining:ratio{" + ids + "} <= 0", 10));
    auto labels = base;
    labels.emplace_back("severity", d.exhausted.severity);
    labels.emplace_back("sloth_severity", "exhausted");
    std::sort(labels.begin(), labels.end());
    write_map(out, 8, "labels", labels);
    write_map(
        out, 8, "annotations",
        {{"summary", "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget is exhausted."}});
  }
}

}  // namespace

std::string export_rule_file(const std::vector<GroupDefinition>& groups, const std::string& source) {
  Lines out;
  out.comment(0, "Exported by `tocsin rules export` from " + source + " for Prometheus 2.42 and later.");
  out.comment(0, "tocsin's tiers, clear and SLOs are written as plain rules; what has no equivalent is");
  out.comment(0, "named in a comment where it was dropped (docs/rules.md, Exporting to Prometheus).");
  if (groups.empty()) {
    out.add(0, "groups: []");
    return out.take();
  }
  out.add(0, "groups:");
  for (const GroupDefinition& group : groups) {
    if (group.rules.size() == 1 && group.rules[0].slo) {
      write_slo(out, group, group.rules[0]);
      continue;
    }
    out.add(2, "- name: " + quoted(group.name));
    if (group.interval) out.add(4, "interval: " + duration(*group.interval));
    if (group.limit > 0) out.add(4, "limit: " + std::to_string(group.limit));
    if (group.query_offset > Duration(0))
      out.comment(4,
                  "dropped (Prometheus 2.53 and later only): query_offset: " + duration(group.query_offset));
    if (group.rules.empty()) {
      out.add(4, "rules: []");
      continue;
    }
    out.add(4, "rules:");
    for (const RuleDefinition& r : group.rules) {
      if (r.kind == RuleDefinition::Kind::recording) {
        write_recording(out, r);
      } else if (!r.tiers.empty()) {
        write_tiered(out, r);
      } else {
        write_alerting(out, r);
      }
    }
  }
  return out.take();
}

}  // namespace tocsin::rules
