// Decoding `slos:` with every error at its position, and the SRE Workbook's default burn windows.

#include "tocsin/slo/definition.hpp"

#include <algorithm>
#include <charconv>
#include <regex>
#include <set>
#include <sstream>

#include "tocsin/core/labels.hpp"
#include "tocsin/promql/parser.hpp"

namespace tocsin::slo {

namespace {

using yaml::MapDecoder;
using yaml::Node;
using namespace std::chrono_literals;

constexpr Duration kDay = 24h;

std::string shortest(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// A pair from the budget share: burning at the factor for the long window spends `percent` of the budget.
// The Workbook's factor for spending `percent` of the budget in `long_window`, at least 1: below 1 a
// burn never exhausts the budget (a one-day SLO's 3-day-style pairs would fire on traffic that meets it).
BurnWindow pair_of(Duration window, Duration long_window, Duration short_window, double percent) {
  const double factor = percent / 100.0 * std::chrono::duration<double>(window).count() /
                        std::chrono::duration<double>(long_window).count();
  return {long_window, short_window, percent, std::max(1.0, factor)};
}

bool valid_slo_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Parses `text` (already expanded) as the instant-vector expression of `what`, reporting on `node`.
promql::ExprPtr parse_expr(const Node& node, const std::string& text, const char* what) {
  try {
    promql::ExprPtr e = promql::parse(text);
    if (e->type != promql::ValueType::vector) {
      node.error(std::string(what) + " must be an instant vector expression, got " +
                 std::string(promql::to_string(e->type)));
      return nullptr;
    }
    return e;
  } catch (const promql::ParseError& e) {
    node.error(std::string("could not parse ") + what + " (" + std::to_string(e.line()) + ":" +
               std::to_string(e.column()) + " of \"" + text + "\"): " + e.message());
    return nullptr;
  }
}

std::optional<std::string> string_at(MapDecoder& map, std::string_view key, bool required) {
  auto n = map.get(key);
  if (!n || n->is_null()) {
    if (required) map.missing(key);
    return std::nullopt;
  }
  return n->as_raw_string();
}

void decode_ratio(const Node& node, Definition& d) {
  MapDecoder map(node);
  if (!map.valid()) return;
  const std::string window = format_duration(d.rate_window);
  auto errors_node = map.get("errors");
  auto good_node = map.get("good");
  if (errors_node && good_node) {
    node.error("give `errors` or `good` (with `total`), not both");
  } else if (!errors_node && !good_node) {
    node.error("missing `errors` (or `good`): the rate of bad (or good) events");
  }
  if (errors_node) {
    if (auto s = errors_node->as_raw_string()) {
      d.errors_text = *s;
      d.errors = parse_expr(*errors_node, expand_window(*s, window), "errors");
    }
  } else if (good_node) {
    if (auto s = good_node->as_raw_string()) {
      d.good_text = *s;
      d.good = parse_expr(*good_node, expand_window(*s, window), "good");
    }
  }
  if (auto total = map.get("total"); total && !total->is_null()) {
    if (auto s = total->as_raw_string()) {
      d.total_text = *s;
      d.total = parse_expr(*total, expand_window(*s, window), "total");
    }
  } else {
    map.missing("total");
  }
  map.finish();
}

void decode_latency(const Node& node, Definition& d) {
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto h = string_at(map, "histogram", true)) {
    d.histogram = *h;
    if (!is_valid_metric_name(*h)) {
      map.get("histogram")->error("invalid histogram name: \"" + *h + "\"");
    } else if (h->ends_with("_bucket") || h->ends_with("_count")) {
      map.get("histogram")->error("give the histogram's name without _bucket or _count: \"" + *h + "\"");
    }
  }
  if (auto b = map.get("below"); b && !b->is_null()) {
    if (auto v = b->as_double()) {
      if (!(*v > 0)) b->error("below must be a bucket bound above 0");
      d.below = *v;
    }
  } else {
    map.missing("below");
  }
  std::string inner;
  if (auto sel = string_at(map, "selector", false)) {
    d.selector = *sel;
    std::string s = *sel;
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    if (s.size() < 2 || s.front() != '{' || s.back() != '}') {
      map.get("selector")->error("a selector is label matchers in braces, e.g. '{job=\"api\"}'");
    } else {
      inner = s.substr(1, s.size() - 2);
    }
  }
  map.finish();
  if (d.histogram.empty() || !(d.below > 0)) return;
  const std::string window = format_duration(d.rate_window);
  const std::string sep = inner.find_first_not_of(' ') == std::string::npos ? "" : ", ";
  const std::string good = "sum(rate(" + d.histogram + "_bucket{" + inner + sep + "le=\"" +
                           shortest(d.below) + "\"}[" + window + "]))";
  const std::string total = "sum(rate(" + d.histogram + "_count{" + inner + "}[" + window + "]))";
  d.good_text = good;
  d.total_text = total;
  d.good = parse_expr(node, good, "the latency SLI's good events");
  d.total = parse_expr(node, total, "the latency SLI's total events");
}

void decode_threshold(const Node& node, Definition& d) {
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto e = map.get("expr"); e && !e->is_null()) {
    if (auto s = e->as_raw_string()) {
      d.threshold_text = *s;
      d.threshold = parse_expr(*e, *s, "expr");
    }
  } else {
    map.missing("expr");
  }
  struct Key {
    const char* name;
    Bound::Direction direction;
    bool inclusive;
  };
  static constexpr Key kKeys[] = {{"below", Bound::Direction::below, false},
                                  {"at_most", Bound::Direction::below, true},
                                  {"above", Bound::Direction::above, false},
                                  {"at_least", Bound::Direction::above, true}};
  std::vector<std::string> given;
  for (const Key& k : kKeys) {
    auto n = map.get(k.name);
    if (!n) continue;
    given.push_back(k.name);
    if (auto v = n->as_double()) d.bound = Bound{k.direction, k.inclusive, *v};
  }
  if (given.size() > 1) {
    node.error("give one bound (below, at_most, above or at_least), not " + given[0] + " and " + given[1]);
  } else if (given.empty()) {
    node.error("missing the bound of a good value: one of below, at_most, above, at_least");
  }
  map.finish();
}

void decode_indicator(const Node& node, Definition& d) {
  MapDecoder map(node);
  if (!map.valid()) return;
  static constexpr std::pair<const char*, Definition::Indicator> kKinds[] = {
      {"ratio", Definition::Indicator::ratio},
      {"latency", Definition::Indicator::latency},
      {"threshold", Definition::Indicator::threshold}};
  std::vector<std::string> given;
  for (const auto& [key, kind] : kKinds) {
    auto n = map.get(key);
    if (!n) continue;
    given.emplace_back(key);
    if (given.size() > 1) continue;
    d.indicator = kind;
    if (n->is_null()) {
      n->error(std::string("the ") + key + " indicator needs its settings");
      continue;
    }
    switch (kind) {
      case Definition::Indicator::ratio: decode_ratio(*n, d); break;
      case Definition::Indicator::latency: decode_latency(*n, d); break;
      case Definition::Indicator::threshold: decode_threshold(*n, d); break;
    }
  }
  if (given.size() > 1) {
    node.error("give one indicator (ratio, latency or threshold), not " + given[0] + " and " + given[1]);
  } else if (given.empty()) {
    node.error("missing the indicator: one of ratio, latency, threshold");
  }
  map.finish();
}

void decode_windows(const Node& node, const Definition& d, std::vector<BurnWindow>& out) {
  if (!node.is_sequence()) {
    node.error("expected a list of {long, short, budget} windows, got " + node.kind());
    return;
  }
  out.clear();
  for (const Node& item : node.items()) {
    MapDecoder map(item);
    if (!map.valid()) continue;
    Duration long_window{0}, short_window{0};
    bool ok = map.positive("long", long_window) && map.positive("short", short_window);
    if (!map.has("long")) map.missing("long"), ok = false;
    if (!map.has("short")) map.missing("short"), ok = false;
    auto budget = map.get("budget");
    auto factor = map.get("factor");
    double percent = 0, burn = 0;
    if (budget && factor) {
      item.error("give `budget` (percent of the window's budget) or `factor` (burn rate), not both");
      ok = false;
    } else if (budget) {
      if (auto v = budget->as_double()) {
        if (!(*v > 0 && *v <= 100)) budget->error("budget is a percentage in (0, 100]"), ok = false;
        percent = *v;
      } else {
        ok = false;
      }
    } else if (factor) {
      if (auto v = factor->as_double()) {
        if (!(*v > 0)) factor->error("factor must be above 0"), ok = false;
        burn = *v;
      } else {
        ok = false;
      }
    } else {
      item.error("missing `budget` (percent of the window's budget spent in `long`) or `factor`");
      ok = false;
    }
    map.finish();
    if (!ok) continue;
    if (short_window >= long_window) {
      item.error("the short window (" + format_duration(short_window) +
                 ") must be shorter than the long one (" + format_duration(long_window) + ")");
      continue;
    }
    if (long_window > d.window) {
      item.error("the long window (" + format_duration(long_window) + ") is longer than the SLO's window (" +
                 window_name(d.window) + ")");
      continue;
    }
    BurnWindow w = budget ? pair_of(d.window, long_window, short_window, percent)
                          : BurnWindow{long_window, short_window, 0, burn};
    if (!budget) {
      w.budget_percent = burn * std::chrono::duration<double>(long_window).count() /
                         std::chrono::duration<double>(d.window).count() * 100;
    }
    out.push_back(w);
  }
  if (out.empty() && node.yaml().size() == 0) node.error("at least one window is needed");
}

void decode_burn_alert(const Node& node, const Definition& d, BurnAlert& a) {
  if (node.is_scalar()) {
    if (auto b = node.as_bool()) {
      if (*b) {
        node.error("`true` is the default; give the settings as a mapping or `false` to turn the alert off");
      }
      a.enabled = *b;
    }
    return;
  }
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto s = string_at(map, "severity", false)) {
    a.severity = *s;
    if (s->empty()) map.get("severity")->error("severity must not be empty");
  }
  if (auto s = string_at(map, "escalation", false)) a.escalation = *s;
  if (auto w = map.get("windows"); w && !w->is_null()) decode_windows(*w, d, a.windows);
  if (auto n = map.get("min_events"); n && !n->is_null()) {
    if (auto v = n->as_double()) {
      if (*v < 0) n->error("min_events must not be negative");
      a.min_events = std::max(0.0, *v);
    }
  }
  if (auto n = map.get("min_budget_spent"); n && !n->is_null()) {
    if (auto v = n->as_double()) {
      if (!(*v >= 0 && *v <= 100)) n->error("min_budget_spent is a percentage in [0, 100]");
      a.min_budget_spent = std::clamp(*v, 0.0, 100.0) / 100.0;
    }
  }
  map.finish();
}

void decode_exhausted(const Node& node, ExhaustedAlert& a) {
  if (node.is_scalar()) {
    if (auto b = node.as_bool()) {
      if (*b) node.error("`true` is the default; give the settings as a mapping or `false` to turn it off");
      a.enabled = *b;
    }
    return;
  }
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto s = string_at(map, "name", false)) {
    if (s->empty()) map.get("name")->error("the alert name must not be empty");
    a.name = *s;
  }
  if (auto s = string_at(map, "severity", false)) {
    if (s->empty()) map.get("severity")->error("severity must not be empty");
    a.severity = *s;
  }
  if (auto s = string_at(map, "escalation", false)) a.escalation = *s;
  map.finish();
}

void decode_alerting(const Node& node, Definition& d) {
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto s = string_at(map, "name", false)) {
    if (s->empty()) map.get("name")->error("the alert name must not be empty");
    d.alert_name = *s;
  }
  if (auto n = map.get("page"); n && !n->is_null()) decode_burn_alert(*n, d, d.page);
  if (auto n = map.get("ticket"); n && !n->is_null()) decode_burn_alert(*n, d, d.ticket);
  if (auto n = map.get("exhausted"); n && !n->is_null()) decode_exhausted(*n, d.exhausted);
  map.finish();
}

void decode_labels(const Node& node, Definition& d) {
  if (!node.is_map()) {
    node.error("expected a mapping of label names to values, got " + node.kind());
    return;
  }
  MapDecoder keys(node);  // reports a name given twice
  for (const auto& entry : node.yaml()) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    Node child = node.child(entry.second, key);
    keys.accept(key);
    if (!is_valid_label_name(key) || key == kMetricNameLabel) {
      child.error("invalid label name: \"" + key + "\"");
      continue;
    }
    if (key.starts_with("sloth_") || key == "alertname" || key == "severity") {
      child.error("label \"" + key + "\" is set by the SLO itself");
      continue;
    }
    if (auto v = child.as_raw_string()) d.labels.emplace_back(key, *v);
  }
  std::sort(d.labels.begin(), d.labels.end());
}

void decode_one(const Node& node, Definition& d, const std::string& /*file_text*/) {
  MapDecoder map(node);
  if (!map.valid()) return;
  d.position = node.position();
  if (auto s = string_at(map, "name", true)) {
    d.name = *s;
    if (!valid_slo_name(*s)) {
      map.get("name")->error("an SLO name is 1 to 128 letters, digits, '-', '_' or '.': \"" + *s + "\"");
    }
  }
  if (auto s = string_at(map, "service", false)) {
    d.service = *s;
    if (!valid_slo_name(*s)) {
      map.get("service")->error("a service name is 1 to 128 letters, digits, '-', '_' or '.': \"" + *s +
                                "\"");
    }
  }
  if (d.service.empty()) d.service = d.name;
  if (auto s = string_at(map, "description", false)) d.description = *s;
  if (auto o = map.get("objective"); o && !o->is_null()) {
    if (auto v = o->as_double()) {
      if (!(*v > 0 && *v < 100)) {
        o->error("objective is a percentage in (0, 100), e.g. 99.9, got " + shortest(*v));
      } else {
        d.objective = *v / 100.0;
      }
    }
  } else {
    map.missing("objective");
  }
  if (auto w = map.get("window"); w && !w->is_null()) {
    if (auto v = w->as_duration()) {
      if (*v < kDay || *v > 90 * kDay) {
        w->error("window must be from 1d to 90d, got " + window_name(*v));
      } else {
        d.window = *v;
      }
    }
  }
  if (auto b = map.get("bucket"); b && !b->is_null()) {
    if (auto v = b->as_duration()) {
      if (*v < 1min || *v > 1h) {
        b->error("bucket must be from 1m to 1h, got " + format_duration(*v));
      } else if (d.window.count() % v->count() != 0) {
        b->error("bucket (" + format_duration(*v) + ") must divide the window (" + window_name(d.window) +
                 ")");
      } else {
        d.bucket = *v;
      }
    }
  }
  map.positive("interval", d.interval);
  if (auto r = map.get("rate_window"); r && !r->is_null()) {
    if (auto v = r->as_duration()) {
      if (*v < 1min || *v > 1h) {
        r->error("rate_window must be from 1m to 1h, got " + format_duration(*v));
      } else {
        d.rate_window = *v;
      }
    }
  }
  // The indicator's expressions embed rate_window: decoded once rate_window is known.
  if (auto i = map.get("indicator"); i && !i->is_null()) {
    decode_indicator(*i, d);
  } else {
    map.missing("indicator");
  }
  d.page.severity = "critical";
  d.page.windows = default_page_windows(d.window);
  d.ticket.severity = "warning";
  d.ticket.windows = default_ticket_windows(d.window);
  if (auto a = map.get("alerting"); a && !a->is_null()) decode_alerting(*a, d);
  if (auto e = map.get("exclude"); e && !e->is_null()) {
    if (yaml::decode(*e, d.exclude)) {
      for (const std::string& name : d.exclude) {
        if (name.empty()) e->error("an excluded time interval's name must not be empty");
      }
    }
  }
  if (auto l = map.get("labels"); l && !l->is_null()) decode_labels(*l, d);
  map.finish();
}

}  // namespace

std::string Bound::to_string() const {
  std::ostringstream out;
  out << (direction == Direction::above ? (inclusive ? "at_least " : "above ")
                                        : (inclusive ? "at_most " : "below "))
      << value;
  return out.str();
}

// Pairs whose long window is longer than the SLO's (3d for a 1d SLO) are left out.
std::vector<BurnWindow> default_page_windows(Duration window) {
  std::vector<BurnWindow> out;
  for (const BurnWindow& w : {pair_of(window, 1h, 5min, 2), pair_of(window, 6h, 30min, 5)})
    if (w.long_window <= window) out.push_back(w);
  return out;
}

std::vector<BurnWindow> default_ticket_windows(Duration window) {
  std::vector<BurnWindow> out;
  for (const BurnWindow& w : {pair_of(window, 24h, 2h, 10), pair_of(window, 72h, 6h, 10)})
    if (w.long_window <= window) out.push_back(w);
  return out;
}

std::string window_name(Duration d) {
  const auto ms = d.count();
  if (ms > 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  return format_duration(d);
}

std::string expand_window(const std::string& text, const std::string& window) {
  static const std::regex kWindow(R"(\{\{\s*\.window\s*\}\})");
  return std::regex_replace(text, kWindow, window);
}

namespace {

// An OpenSLO metric source: {metricSource: {type: Prometheus, spec: {query}}}, as PromQL text.
std::optional<std::string> openslo_query(const Node& node, bool counter, const std::string& window) {
  MapDecoder map(node);
  if (!map.valid()) return std::nullopt;
  std::optional<std::string> out;
  if (auto source = map.get("metricSource"); source && !source->is_null()) {
    MapDecoder sm(*source);
    if (sm.valid()) {
      if (auto type = string_at(sm, "type", true); type && *type != "Prometheus") {
        sm.get("type")->error("only Prometheus metric sources map to tocsin, not \"" + *type + "\"");
      }
      sm.accept("metricSourceRef");
      if (sm.has("metricSourceRef")) sm.get("metricSourceRef")->error("metricSourceRef is not supported");
      if (auto spec = sm.get("spec"); spec && !spec->is_null()) {
        MapDecoder qm(*spec);
        if (qm.valid()) {
          if (auto q = string_at(qm, "query", true)) {
            out = counter ? "sum(rate(" + *q + "[" + window + "]))" : *q;
          }
          qm.finish();
        }
      } else {
        sm.missing("spec");
      }
      sm.finish();
    }
  } else {
    map.missing("metricSource");
  }
  map.finish();
  return out;
}

}  // namespace

std::optional<Definition> decode_openslo(const yaml::Node& document) {
  MapDecoder map(document);
  if (!map.valid()) return std::nullopt;
  const std::size_t errors_before = document.context().diagnostics->size();
  Definition d;
  d.position = document.position();
  if (auto v = string_at(map, "apiVersion", true); v && *v != "openslo/v1") {
    map.get("apiVersion")->error("only openslo/v1 documents are read, not \"" + *v + "\"");
  }
  if (auto k = string_at(map, "kind", true); k && *k != "SLO") {
    map.get("kind")->error("only kind SLO maps to tocsin, not \"" + *k + "\"");
  }
  if (auto meta = map.get("metadata"); meta && !meta->is_null()) {
    MapDecoder mm(*meta);
    if (mm.valid()) {
      if (auto n = string_at(mm, "name", true)) {
        d.name = *n;
        if (!valid_slo_name(*n))
          mm.get("name")->error("an SLO name is 1 to 128 letters, digits, '-', '_' or '.'");
      }
      mm.accept("displayName");
      if (auto l = mm.get("labels"); l && !l->is_null()) decode_labels(*l, d);
      mm.accept("annotations");
      mm.finish();
    }
  } else {
    map.missing("metadata");
  }
  auto spec_node = map.get("spec");
  if (!spec_node || spec_node->is_null()) {
    map.missing("spec");
    map.finish();
    return std::nullopt;
  }
  MapDecoder spec(*spec_node);
  if (!spec.valid()) return std::nullopt;
  if (auto s = string_at(spec, "service", false)) {
    d.service = *s;
    if (!valid_slo_name(*s)) {  // it names the history file in state_dir, as the native key does
      spec.get("service")->error("a service name is 1 to 128 letters, digits, '-', '_' or '.': \"" + *s +
                                 "\"");
    }
  }
  if (d.service.empty()) d.service = d.name;
  if (auto s = string_at(spec, "description", false)) d.description = *s;
  if (auto b = string_at(spec, "budgetingMethod", true); b && *b != "Occurrences" && *b != "Timeslices") {
    spec.get("budgetingMethod")
        ->error("budgetingMethod " + *b + " does not map to tocsin (Occurrences or Timeslices)");
  }
  if (auto w = spec.get("timeWindow"); w && !w->is_null()) {
    std::vector<Node> items = w->items();
    if (items.size() != 1) {
      w->error("give one time window");
    } else {
      MapDecoder wm(items[0]);
      if (wm.valid()) {
        if (auto dur = wm.get("duration"); dur && !dur->is_null()) {
          if (auto v = dur->as_duration()) {
            if (*v < kDay || *v > 90 * kDay) {
              dur->error("window must be from 1d to 90d, got " + window_name(*v));
            } else {
              d.window = *v;
            }
          }
        } else {
          wm.missing("duration");
        }
        if (auto r = wm.get("isRolling"); r && !r->is_null()) {
          if (auto v = r->as_bool(); v && !*v) r->error("only rolling windows map to tocsin");
        }
        if (wm.has("calendar"))
          wm.get("calendar")->error("calendar windows do not map to tocsin (rolling only)");
        wm.finish();
      }
    }
  } else {
    spec.missing("timeWindow");
  }
  if (auto o = spec.get("objectives"); o && !o->is_null()) {
    std::vector<Node> items = o->items();
    if (items.size() != 1) {
      o->error("give one objective (tocsin keeps one budget per SLO)");
    } else {
      MapDecoder om(items[0]);
      if (om.valid()) {
        om.accept("displayName");
        auto target = om.get("target");
        auto percent = om.get("targetPercent");
        if (target && !percent) {
          if (auto v = target->as_double()) {
            if (!(*v > 0 && *v < 1)) target->error("target is a ratio in (0, 1), e.g. 0.999");
            d.objective = *v;
          }
        } else if (percent && !target) {
          if (auto v = percent->as_double()) {
            if (!(*v > 0 && *v < 100)) percent->error("targetPercent is a percentage in (0, 100)");
            d.objective = *v / 100;
          }
        } else {
          items[0].error("give target or targetPercent");
        }
        for (const char* k :
             {"op", "value", "timeSliceTarget", "timeSliceWindow", "indicator", "indicatorRef"}) {
          if (om.has(k)) om.get(k)->error(std::string(k) + " in an objective does not map to tocsin");
        }
        om.finish();
      }
    }
  } else {
    spec.missing("objectives");
  }
  if (spec.has("indicatorRef"))
    spec.get("indicatorRef")->error("indicatorRef does not map: inline the indicator");
  if (spec.has("alertPolicies")) {
    spec.get("alertPolicies")
        ->error("alertPolicies do not map: tocsin's SLO alerts are the multi-window burn rates");
  }
  if (auto ind = spec.get("indicator"); ind && !ind->is_null()) {
    MapDecoder im(*ind);
    if (im.valid()) {
      im.accept("metadata");
      if (auto is = im.get("spec"); is && !is->is_null()) {
        MapDecoder ism(*is);
        if (ism.valid()) {
          if (ism.has("thresholdMetric")) {
            ism.get("thresholdMetric")
                ->error("thresholdMetric does not map: use a tocsin threshold indicator");
          }
          if (auto ratio = ism.get("ratioMetric"); ratio && !ratio->is_null()) {
            MapDecoder rm(*ratio);
            if (rm.valid()) {
              bool counter = false;
              rm.optional("counter", counter);
              if (rm.has("rawType")) rm.get("rawType")->error("raw ratio metrics do not map to tocsin");
              const std::string window = format_duration(d.rate_window);
              auto good = rm.get("good");
              auto bad = rm.get("bad");
              if (good && bad) {
                ratio->error("give good or bad, not both");
              } else if (good) {
                if (auto q = openslo_query(*good, counter, window)) {
                  d.good_text = *q;
                  d.good = parse_expr(*good, *q, "good");
                }
              } else if (bad) {
                if (auto q = openslo_query(*bad, counter, window)) {
                  d.errors_text = *q;
                  d.errors = parse_expr(*bad, *q, "bad");
                }
              } else {
                ratio->error("missing good or bad");
              }
              if (auto total = rm.get("total"); total && !total->is_null()) {
                if (auto q = openslo_query(*total, counter, window)) {
                  d.total_text = *q;
                  d.total = parse_expr(*total, *q, "total");
                }
              } else {
                rm.missing("total");
              }
              rm.finish();
            }
          } else if (!ism.has("thresholdMetric")) {
            ism.missing("ratioMetric");
          }
          ism.finish();
        }
      } else {
        im.missing("spec");
      }
      im.finish();
    }
  } else if (!spec.has("indicatorRef")) {
    spec.missing("indicator");
  }
  spec.finish();
  map.finish();
  d.indicator = Definition::Indicator::ratio;
  d.page.severity = "critical";
  d.page.windows = default_page_windows(d.window);
  d.ticket.severity = "warning";
  d.ticket.windows = default_ticket_windows(d.window);
  if (document.context().diagnostics->size() != errors_before) return std::nullopt;
  return d;
}

std::vector<Definition> decode_slos(const yaml::Node& list, const std::string& file_text) {
  std::vector<Definition> out;
  if (!list.is_sequence()) {
    list.error("expected a list of SLOs, got " + list.kind());
    return out;
  }
  std::set<std::string> ids;
  for (const Node& item : list.items()) {
    Definition d;
    decode_one(item, d, file_text);
    if (!d.name.empty() && !ids.insert(d.id()).second) {
      item.error("SLO \"" + d.name + "\" of service \"" + d.service + "\" is repeated in the same file");
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace tocsin::slo
