#pragma once
// Service level objectives as written in rule files: the top-level `slos:` list beside `groups:`
// (docs/slo.md). Decoding validates every key and value and reports each error at its file:line:column;
// the result holds what could be read. The engine that runs them is history.hpp (the budget buckets)
// and burn.hpp (windows, burn rates, alert decisions, words); rules/ evaluates the indicator queries.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/promql/ast.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::slo {

// A bound a threshold indicator's value must keep to be good: `below: 60` (< 60), `at_most` (<=),
// `above` (>), `at_least` (>=).
struct Bound {
  enum class Direction { above, below } direction = Direction::below;
  bool inclusive = false;
  double value = 0;
  bool holds(double v) const {
    if (direction == Direction::above) return inclusive ? v >= value : v > value;
    return inclusive ? v <= value : v < value;
  }
  std::string to_string() const;  // "below 60"
};

// One pair of a multi-window multi-burn-rate alert: the alert holds while the burn rate over both the
// long and the short window is above `factor`. `budget_percent` is the share of the SLO window's budget
// that burning at `factor` for `long_window` spends; factor = share * window / long_window.
struct BurnWindow {
  Duration long_window{0};
  Duration short_window{0};
  double budget_percent = 0;
  double factor = 0;
};

// The page or the ticket alert of an SLO.
struct BurnAlert {
  bool enabled = true;
  std::string severity;
  std::string escalation;
  std::vector<BurnWindow> windows;
  // The low-traffic guard: events (ratio and latency SLIs) in a pair's long window before it may fire.
  double min_events = 0;
  // The errors in the long window must have used at least this share (0..1) of the budget that the
  // whole window's traffic allows (bad events / (error budget * total events over the SLO window)).
  double min_budget_spent = 0;
};

// The alert that fires while the window's budget is spent (remaining <= 0).
struct ExhaustedAlert {
  bool enabled = true;
  std::string name = "SLOErrorBudgetExhausted";
  std::string severity = "critical";
  std::string escalation;
};

struct Definition {
  enum class Indicator { ratio, latency, threshold };

  std::string name;
  std::string service;  // sloth_service; default: the name
  std::string description;
  double objective = 0;  // a ratio in (0, 1): 99.9 in the file is 0.999
  Duration window = std::chrono::hours(24 * 30);
  Duration bucket = std::chrono::minutes(5);  // the history's resolution over the whole window
  std::optional<Duration> interval;           // evaluation interval; default: the global one
  // The `{{.window}}` of ratio expressions, and the range of the latency SLI's rate()s: the events of an
  // evaluation are the rate at its time times the time since the previous one.
  Duration rate_window = std::chrono::minutes(5);

  Indicator indicator = Indicator::ratio;
  // ratio: per-second rates of bad (or good) and all events; latency: generated from the histogram.
  std::string errors_text;  // one of errors_text and good_text is set (ratio); latency sets good
  std::string good_text;
  std::string total_text;
  promql::ExprPtr errors;  // parsed, with {{.window}} replaced
  promql::ExprPtr good;
  promql::ExprPtr total;
  // latency
  std::string histogram;
  double below = 0;
  std::string selector;  // "{job=\"api\"}" or empty
  // threshold: good while every sample of `expr` keeps to `bound`; time slices of the evaluation interval
  std::string threshold_text;
  promql::ExprPtr threshold;
  Bound bound;

  std::string alert_name = "SLOErrorBudgetBurn";
  BurnAlert page;
  BurnAlert ticket;
  ExhaustedAlert exhausted;

  std::vector<std::string> exclude;                         // alerting time_intervals names
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  yaml::Position position;

  double error_budget() const { return 1 - objective; }
  std::string id() const { return service + "-" + name; }  // sloth_id
};

// The SRE Workbook's pairs for `window`: page at 2 % of the budget in 1h (5m short) and 5 % in 6h (30m);
// ticket at 10 % in 1d (2h) and 10 % in 3d (6h), which are 14.4, 6, 3 and 1 for 30 days.
std::vector<BurnWindow> default_page_windows(Duration window);
std::vector<BurnWindow> default_ticket_windows(Duration window);

// Decodes the `slos:` list of a rule file whose text is `file_text` (for positions inside expressions).
// Every error goes to the node's diagnostics; a definition with errors is still returned.
std::vector<Definition> decode_slos(const yaml::Node& list, const std::string& file_text);

// An OpenSLO v1 document (`apiVersion: openslo/v1`, `kind: SLO`) as a Definition: metadata.name,
// spec.service, spec.description, one spec.objectives[] target (ratio or targetPercent), a rolling
// spec.timeWindow, and an inline spec.indicator whose ratioMetric has good or bad and total Prometheus
// queries (`counter: true`: counters, taken through rate(); else per-second rates). Budgeting by Occurrences
// (the events) or Timeslices is accepted for a ratio indicator, which is counted as events. What does not map
// (calendar windows, indicatorRef, thresholdMetric, alertPolicies, several objectives, other sources or
// kinds) is refused with its position; nullopt then.
std::optional<Definition> decode_openslo(const yaml::Node& document);

// A window as Sloth's sloth_window label writes it: whole days as "30d", else hours, minutes, or
// Prometheus's notation ("5m", "1h", "3d", "30d").
std::string window_name(Duration d);

// Replaces each `{{.window}}` (spaces allowed inside the braces) in `text` by `window`.
std::string expand_window(const std::string& text, const std::string& window);

}  // namespace tocsin::slo
