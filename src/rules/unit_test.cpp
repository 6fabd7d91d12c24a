// The rule unit-test runner, following promtool's unittest.go: rules are evaluated at every
// evaluation_interval from 0 to the last eval_time, each seeing the input only up to its own time;
// alerts are compared at the evaluation at or just before each eval_time; expressions are evaluated
// afterwards over the input loaded so far and the recorded series.

#include "tocsin/rules/unit_test.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "tocsin/promql/parser.hpp"
#include "tocsin/promql/series_notation.hpp"
#include "tocsin/rules/group.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::rules {

namespace {

namespace fs = std::filesystem;

// Recording results into memory, with staleness markers for series that stop, as the store does.
class MemoryOutput final : public RuleOutput {
 public:
  explicit MemoryOutput(promql::MemoryQuerier& data) : data_(data) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    std::set<Labels>& before = previous_[key];
    std::set<Labels> now;
    for (const auto& s : samples) {
      data_.add(s.labels, {t, s.v});
      now.insert(s.labels);
    }
    written_ += samples.size();
    for (const Labels& l : before) {
      if (!now.count(l)) {
        data_.add(l, {t, stale_nan()});
        ++written_;
      }
    }
    before = std::move(now);
  }
  // Points written so far (results and staleness markers): what the rules added to the test's memory.
  std::uint64_t written() const { return written_; }

 private:
  promql::MemoryQuerier& data_;
  std::map<std::string, std::set<Labels>> previous_;
  std::uint64_t written_ = 0;
};

std::optional<Duration> duration_of(const yaml::Node& node) {
  if (node.is_scalar() && node.yaml().Scalar() == "0") return Duration(0);
  return node.as_duration();
}

std::optional<double> value_of(const yaml::Node& node) {
  if (!node.is_scalar()) {
    node.error("expected a number, got " + node.kind());
    return std::nullopt;
  }
  // YAML's own spellings, which promtool (go-yaml) reads into a float64, and Go's, which earlier
  // tocsin versions accepted (promtool refuses those: tests meant for both tools use YAML's).
  const std::string s = node.yaml().Scalar();
  constexpr double inf = std::numeric_limits<double>::infinity();
  static const std::map<std::string_view, double> named = {
      {".nan", std::nan("")}, {".NaN", std::nan("")}, {".NAN", std::nan("")}, {"NaN", std::nan("")},
      {"nan", std::nan("")},  {".inf", inf},          {".Inf", inf},          {".INF", inf},
      {"+.inf", inf},         {"+.Inf", inf},         {"+.INF", inf},         {"Inf", inf},
      {"+Inf", inf},          {"inf", inf},           {"-.inf", -inf},        {"-.Inf", -inf},
      {"-.INF", -inf},        {"-Inf", -inf},         {"-inf", -inf}};
  if (auto it = named.find(s); it != named.end()) return it->second;
  return node.as_double();
}

// Exact, as promtool compares, unless the file sets `fuzzy_compare: true` (promtool 3.x's option),
// which allows differences in the last bits.
bool same_value(double a, double b, bool fuzzy) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  if (!fuzzy) return false;
  const double diff = std::fabs(a - b);
  const double scale = std::max(std::fabs(a), std::fabs(b));
  return diff <= 1e-6 * scale;
}

std::string format_time(Timestamp t) { return format_duration(Duration(t)); }

// Go's time.Duration.String() of t milliseconds ("0s", "500ms", "1.5s", "1m0s", "1h0m0s"), as
// promtool prints the time of a rule evaluation error.
std::string go_duration(Timestamp t) {
  if (t == 0) return "0s";
  std::string sign = t < 0 ? "-" : "";
  const std::uint64_t ms = t < 0 ? static_cast<std::uint64_t>(-(t + 1)) + 1 : static_cast<std::uint64_t>(t);
  if (ms < 1000) return sign + std::to_string(ms) + "ms";
  std::string seconds = std::to_string(ms / 1000 % 60);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    seconds += "." + frac;
  }
  const std::uint64_t minutes = ms / 60'000 % 60, hours = ms / 3'600'000;
  if (hours > 0) return sign + std::to_string(hours) + "h" + std::to_string(minutes) + "m" + seconds + "s";
  if (minutes > 0) return sign + std::to_string(minutes) + "m" + seconds + "s";
  return sign + seconds + "s";
}

struct AlertExpectation {
  Labels labels;
  Labels annotations;
};
struct AlertTest {
  Timestamp eval_time = 0;
  std::string alertname;
  std::vector<AlertExpectation> expected;
};
struct ExprSample {
  Labels labels;
  double value = 0;
};
struct ExprTest {
  std::string expr;
  Timestamp eval_time = 0;
  std::vector<ExprSample> expected;
};
struct InputSeries {
  Labels labels;
  std::vector<promql::SeriesValue> values;
};
struct TestCase {
  std::string name;
  Duration interval{0};
  std::vector<InputSeries> input;
  Labels external_labels;
  std::string external_url;
  std::vector<AlertTest> alert_tests;
  std::vector<ExprTest> expr_tests;
};
struct TestFile {
  std::vector<std::string> rule_files;
  Duration evaluation_interval = std::chrono::minutes(1);
  std::vector<std::string> group_eval_order;
  bool fuzzy_compare = false;
  std::vector<TestCase> tests;
};

// Test files are read as promtool reads them: strings verbatim, no ${VAR} expansion, so that PromQL
// such as label_replace(..., "${1}x", ...) and templates keep their dollars.
void raw(yaml::MapDecoder& map, std::string_view key, std::string& out, bool required = false) {
  auto n = map.get(key);
  if (!n || n->is_null()) {
    if (required) map.missing(key);
    return;
  }
  if (auto s = n->as_raw_string()) out = *s;
}

void raw_list(const yaml::Node& node, std::vector<std::string>& out) {
  if (node.is_null()) return;
  if (!node.is_sequence()) {
    node.error("expected a list, got " + node.kind());
    return;
  }
  for (const yaml::Node& item : node.items()) {
    if (auto s = item.as_raw_string()) out.push_back(*s);
  }
}

Labels labels_map(const yaml::Node& node) {
  LabelsBuilder b;
  if (!node.is_map()) {
    node.error("expected a mapping of label names to values, got " + node.kind());
    return b.build();
  }
  for (const auto& entry : node.yaml()) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (auto v = node.child(entry.second, key).as_raw_string()) b.set(key, *v);
  }
  return b.build();
}

// An eval_time needs eval_time / evaluation_interval + 1 evaluations of every group (the loop runs
// from 0); beyond the limit the file is refused where it asks for it.
void check_eval_time(const yaml::Node& node, Duration eval_time, const TestFile& file,
                     const UnitTestLimits& limits) {
  const auto evaluations = static_cast<std::uint64_t>(eval_time / file.evaluation_interval) + 1;
  if (evaluations <= limits.max_evaluations) return;
  node.error("eval_time " + format_duration(eval_time) + " needs " + std::to_string(evaluations) +
             " evaluations at evaluation_interval " + format_duration(file.evaluation_interval) +
             ", at most " + std::to_string(limits.max_evaluations));
}

TestFile decode_test_file(const yaml::Node& root, const UnitTestLimits& limits) {
  TestFile file;
  std::uint64_t points_left = limits.max_points;  // of the file, every test case together
  yaml::MapDecoder map(root);
  if (auto n = map.get("rule_files")) raw_list(*n, file.rule_files);
  if (auto n = map.get("evaluation_interval"); n && !n->is_null()) {
    // 0 is promtool's "unset" (1m); it must never become the step of the evaluation loop.
    if (auto d = duration_of(*n); d && *d > Duration(0)) file.evaluation_interval = *d;
  }
  if (auto n = map.get("group_eval_order")) raw_list(*n, file.group_eval_order);
  map.optional("fuzzy_compare", file.fuzzy_compare);
  if (auto tests = map.get("tests"); tests && !tests->is_null()) {
    for (const yaml::Node& t : tests->items()) {
      TestCase tc;
      tc.interval = file.evaluation_interval;
      yaml::MapDecoder tm(t);
      if (!tm.valid()) continue;
      raw(tm, "name", tc.name);
      if (auto n = tm.get("interval"); n && !n->is_null()) {
        if (auto d = duration_of(*n)) tc.interval = *d;
      }
      if (auto n = tm.get("external_labels"); n && !n->is_null()) tc.external_labels = labels_map(*n);
      raw(tm, "external_url", tc.external_url);
      if (auto list = tm.get("input_series"); list && !list->is_null()) {
        std::map<Labels, std::size_t> index;  // position in tc.input by labels
        for (const yaml::Node& s : list->items()) {
          yaml::MapDecoder sm(s);
          std::string series, values;
          raw(sm, "series", series, true);
          raw(sm, "values", values);
          sm.finish();
          // Counted before anything is expanded: "1x100000000000" must not allocate its points to be refused.
          const std::uint64_t points = promql::count_series_values(values);
          if (points > limits.max_points) {
            s.error("series expands to " + std::to_string(points) + " points, at most " +
                    std::to_string(limits.max_points));
            continue;
          }
          if (points > points_left) {
            s.error("series expands to " + std::to_string(points) + " points, more than the " +
                    std::to_string(points_left) + " left of the " + std::to_string(limits.max_points) +
                    " points a test file's input series may hold in all");
            continue;
          }
          // Its last point must have a time: (points - 1) intervals within kMaxConfigDuration.
          if (points > 1 && tc.interval.count() > 0 &&
              points - 1 > static_cast<std::uint64_t>(yaml::kMaxConfigDuration / tc.interval)) {
            s.error("series of " + std::to_string(points) + " points at interval " +
                    format_duration(tc.interval) + " ends beyond " +
                    format_duration(yaml::kMaxConfigDuration));
            continue;
          }
          points_left -= points;
          try {
            Labels labels = promql::parse_series_labels(series);
            auto values_of = promql::expand_series_values(values, points);
            // A series listed twice: the last definition stands, as in promtool (a map by labels).
            auto [same, added] = index.try_emplace(labels, tc.input.size());
            if (added) {
              tc.input.push_back({std::move(labels), std::move(values_of)});
            } else {
              tc.input[same->second].values = std::move(values_of);
            }
          } catch (const std::exception& e) {
            s.error(e.what());
          }
        }
      }
      if (auto list = tm.get("alert_rule_test"); list && !list->is_null()) {
        for (const yaml::Node& a : list->items()) {
          AlertTest at;
          yaml::MapDecoder am(a);
          if (auto n = am.get("eval_time"); n && !n->is_null()) {
            if (auto d = duration_of(*n)) {
              at.eval_time = d->count();
              check_eval_time(*n, *d, file, limits);
            }
          }
          raw(am, "alertname", at.alertname, true);
          if (auto exp = am.get("exp_alerts"); exp && !exp->is_null()) {
            for (const yaml::Node& e : exp->items()) {
              yaml::MapDecoder em(e);
              AlertExpectation x;
              if (auto n = em.get("exp_labels"); n && !n->is_null()) x.labels = labels_map(*n);
              if (auto n = em.get("exp_annotations"); n && !n->is_null()) x.annotations = labels_map(*n);
              em.finish();
              LabelsBuilder b(x.labels);
              b.set("alertname", at.alertname);
              x.labels = b.build();
              at.expected.push_back(std::move(x));
            }
          }
          am.finish();
          tc.alert_tests.push_back(std::move(at));
        }
      }
      if (auto list = tm.get("promql_expr_test"); list && !list->is_null()) {
        for (const yaml::Node& e : list->items()) {
          ExprTest et;
          yaml::MapDecoder em(e);
          raw(em, "expr", et.expr, true);
          if (auto n = em.get("eval_time"); n && !n->is_null()) {
            if (auto d = duration_of(*n)) {
              et.eval_time = d->count();
              check_eval_time(*n, *d, file, limits);
            }
          }
          if (auto exp = em.get("exp_samples"); exp && !exp->is_null()) {
            for (const yaml::Node& s : exp->items()) {
              yaml::MapDecoder sm(s);
              ExprSample x;
              std::string labels;
              raw(sm, "labels", labels);
              if (auto n = sm.get("value"); n && !n->is_null()) {
                if (auto v = value_of(*n)) x.value = *v;
              }
              sm.accept("histogram");
              sm.finish();
              try {
                if (!labels.empty()) x.labels = promql::parse_series_labels(labels);
              } catch (const std::exception& ex) {
                s.error(ex.what());
              }
              et.expected.push_back(std::move(x));
            }
          }
          em.finish();
          tc.expr_tests.push_back(std::move(et));
        }
      }
      tm.finish();
      file.tests.push_back(std::move(tc));
    }
  }
  map.finish();
  return file;
}

std::string alerts_text(const std::vector<AlertExpectation>& alerts) {
  std::string out = "[";
  for (std::size_t i = 0; i < alerts.size(); ++i) {
    out += "\n            " + std::to_string(i) + ":\n              Labels:" + alerts[i].labels.to_string() +
           "\n              Annotations:" + alerts[i].annotations.to_string();
  }
  return out + (alerts.empty() ? "]" : "\n            ]");
}

std::string samples_text(const std::vector<ExprSample>& samples) {
  std::string out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (i) out += ", ";
    out += samples[i].labels.to_string() + " " + promql::format_value(samples[i].value);
  }
  return out;
}

// The input series, appended to `data` only up to a time, as promtool's lazy loader does: rules
// evaluated at ts see the samples at or before ts, never later ones (`x offset -1m` included).
class InputLoader {
 public:
  InputLoader(const std::vector<InputSeries>& input, Duration interval, promql::MemoryQuerier& data)
      : input_(input), interval_(interval), data_(data), next_(input.size(), 0) {}
  void load_till(Timestamp ts) {
    for (std::size_t s = 0; s < input_.size(); ++s) {
      const auto& values = input_[s].values;
      for (std::size_t& i = next_[s]; i < values.size(); ++i) {
        const Timestamp t = static_cast<Timestamp>(i) * interval_.count();
        if (t > ts) break;
        switch (values[i].kind) {
          case promql::SeriesValue::Kind::value: data_.add(input_[s].labels, {t, values[i].v}); break;
          case promql::SeriesValue::Kind::stale: data_.add(input_[s].labels, {t, stale_nan()}); break;
          case promql::SeriesValue::Kind::missing: break;
        }
      }
    }
  }

 private:
  const std::vector<InputSeries>& input_;
  Duration interval_;
  promql::MemoryQuerier& data_;
  std::vector<std::size_t> next_;
};

// Runs one test case; returns the failure messages.
std::vector<std::string> run_case(const TestCase& tc, const std::vector<GroupDefinition>& definitions,
                                  const TestFile& file, const UnitTestOptions& options) {
  std::vector<std::string> errors;
  promql::MemoryQuerier data;
  InputLoader input(tc.input, tc.interval, data);
  MemoryOutput output(data);
  promql::EngineOptions engine_options;
  engine_options.compat = options.compat;
  engine_options.default_subquery_step = file.evaluation_interval;
  engine_options.timeout = options.limits.query_timeout;
  engine_options.max_samples = options.limits.max_samples;
  promql::Engine engine(engine_options);
  const auto started = std::chrono::steady_clock::now();

  std::vector<std::unique_ptr<Group>> groups;
  for (const GroupDefinition& g : definitions)
    groups.push_back(std::make_unique<Group>(g, file.evaluation_interval));
  EvalSettings settings{tc.external_labels, tc.external_url, {}};

  Timestamp max_time = 0;
  for (const auto& a : tc.alert_tests) max_time = std::max(max_time, a.eval_time);
  for (const auto& e : tc.expr_tests) max_time = std::max(max_time, e.eval_time);
  std::vector<const AlertTest*> alert_tests;
  for (const auto& a : tc.alert_tests) alert_tests.push_back(&a);
  std::stable_sort(alert_tests.begin(), alert_tests.end(),
                   [](const AlertTest* a, const AlertTest* b) { return a->eval_time < b->eval_time; });
  std::size_t next = 0;
  const Timestamp step = file.evaluation_interval.count();
  for (Timestamp ts = 0; ts <= max_time; ts += step) {
    if (std::chrono::steady_clock::now() - started > options.limits.case_timeout) {
      errors.push_back("    time: " + go_duration(ts) + ", err: the test case ran longer than " +
                       format_duration(Duration(options.limits.case_timeout)) +
                       ", stopped before evaluating at " + format_time(ts) + " (eval_time " +
                       format_time(max_time) + ")");
      return errors;
    }
    input.load_till(ts);
    const std::size_t errors_before = errors.size();
    for (auto& g : groups) {
      g->evaluate(EvalContext{engine, data, output, ts, settings});
      const std::vector<RuleHealth> health = g->health();  // parallel to the group's rules
      for (std::size_t r = 0; r < health.size(); ++r) {
        const RuleHealth& h = health[r];
        if (!h.last_error.empty() && h.last_evaluation == ts) {
          errors.push_back("    rule: " + g->definition().rules[r].name + ", time: " + go_duration(ts) +
                           ", err: " + h.last_error);
        }
      }
    }
    // As promtool: the first evaluation with errors ends the test case (what follows would be noise).
    if (errors.size() > errors_before) return errors;
    if (output.written() > options.limits.max_recorded_points) {
      errors.push_back("    time: " + go_duration(ts) + ", err: the rules recorded " +
                       std::to_string(output.written()) + " points, at most " +
                       std::to_string(options.limits.max_recorded_points) + " in a test case");
      return errors;
    }
    while (next < alert_tests.size() && alert_tests[next]->eval_time >= ts &&
           alert_tests[next]->eval_time < ts + step) {
      const AlertTest& at = *alert_tests[next++];
      std::vector<AlertExpectation> got;
      for (const auto& g : groups) {
        for (const auto& [rule, a] : g->active_alerts()) {
          if (a.labels.get("alertname") == at.alertname && a.state == alerting::AlertState::firing)
            got.push_back({a.labels, a.annotations});
        }
      }
      auto by_labels = [](const AlertExpectation& x, const AlertExpectation& y) {
        return x.labels < y.labels || (x.labels == y.labels && x.annotations < y.annotations);
      };
      std::vector<AlertExpectation> expected = at.expected;
      std::sort(got.begin(), got.end(), by_labels);
      std::sort(expected.begin(), expected.end(), by_labels);
      bool same = got.size() == expected.size();
      for (std::size_t i = 0; same && i < got.size(); ++i) {
        same = got[i].labels == expected[i].labels && got[i].annotations == expected[i].annotations;
      }
      if (!same) {
        errors.push_back("    alertname: " + at.alertname + ", time: " + format_time(at.eval_time) +
                         ", \n        exp:" + alerts_text(expected) + ", \n        got:" + alerts_text(got));
      }
    }
  }

  // As in promtool, expressions run after the loop: they see the input up to its last evaluation, which
  // for a file's latest eval_time is that eval_time, and for an earlier one includes later samples.
  for (const ExprTest& et : tc.expr_tests) {
    std::vector<ExprSample> got;
    try {
      promql::Value v = engine.instant(data, *promql::parse(et.expr), et.eval_time);
      if (auto* s = std::get_if<promql::Scalar>(&v)) {
        got.push_back({Labels{}, s->v});
      } else if (auto* vec = std::get_if<promql::Vector>(&v)) {
        for (const auto& s : *vec) got.push_back({s.labels, s.v});
      } else {
        errors.push_back("    expr: \"" + et.expr + "\", time: " + format_time(et.eval_time) +
                         ", err: expression type " + std::string(promql::to_string(promql::type_of(v))) +
                         " is not allowed in a test");
        continue;
      }
    } catch (const std::exception& e) {
      errors.push_back("    expr: \"" + et.expr + "\", time: " + format_time(et.eval_time) +
                       ", err: " + e.what());
      continue;
    }
    std::vector<ExprSample> expected = et.expected;
    auto by_labels = [](const ExprSample& a, const ExprSample& b) { return a.labels < b.labels; };
    std::sort(got.begin(), got.end(), by_labels);
    std::sort(expected.begin(), expected.end(), by_labels);
    bool same = got.size() == expected.size();
    for (std::size_t i = 0; same && i < got.size(); ++i) {
      same = got[i].labels == expected[i].labels &&
             same_value(got[i].value, expected[i].value, file.fuzzy_compare);
    }
    if (!same) {
      errors.push_back("    expr: \"" + et.expr + "\", time: " + format_time(et.eval_time) +
                       ",\n        exp: " + samples_text(expected) + "\n        got: " + samples_text(got));
    }
  }
  return errors;
}

}  // namespace

int run_unit_tests(const std::vector<std::string>& files, std::ostream& out, const UnitTestOptions& options) {
  bool failed = false;
  for (const std::string& path : files) {
    out << "Unit Testing:  " << path << "\n";
    yaml::Diagnostics diagnostics;
    YAML::Node root = yaml::parse_yaml_file(path, diagnostics);
    TestFile file;
    if (root) {
      yaml::DecodeContext ctx{path, fs::path(path).parent_path().string(), &diagnostics, nullptr};
      file = decode_test_file(yaml::Node(root, "", &ctx), options.limits);
    }
    std::vector<std::string> rule_files;
    const fs::path dir = fs::path(path).parent_path();
    if (diagnostics.empty()) {
      rule_files = expand_rule_globs(file.rule_files, dir.string(), path, diagnostics);
    }
    std::vector<GroupDefinition> groups;
    if (diagnostics.empty()) groups = load_rule_files(rule_files, diagnostics);
    if (!diagnostics.empty()) {
      out << "  FAILED:\n";
      for (const auto& d : diagnostics.items()) out << "    " << d.to_string() << "\n";
      out << "\n";
      failed = true;
      continue;
    }
    if (!file.group_eval_order.empty()) {
      std::vector<GroupDefinition> ordered;
      for (const std::string& name : file.group_eval_order) {
        for (auto& g : groups) {
          if (g.name == name) ordered.push_back(g);
        }
      }
      if (ordered.size() != groups.size()) {
        out << "  FAILED:\n    group_eval_order must list every group exactly once\n\n";
        failed = true;
        continue;
      }
      groups = std::move(ordered);
    }
    std::vector<std::string> errors;
    for (const TestCase& tc : file.tests) {
      auto case_errors = run_case(tc, groups, file, options);
      if (!case_errors.empty() && !tc.name.empty()) errors.push_back("    name: " + tc.name + ",");
      errors.insert(errors.end(), case_errors.begin(), case_errors.end());
    }
    if (errors.empty()) {
      out << "  SUCCESS\n\n";
    } else {
      failed = true;
      out << "  FAILED:\n";
      for (const auto& e : errors) out << e << "\n";
      out << "\n";
    }
  }
  return failed ? 1 : 0;
}

namespace detail {

std::size_t decode_unit_test_text(const std::string& text, const std::string& file,
                                  yaml::Diagnostics& diagnostics) {
  YAML::Node root = yaml::parse_yaml_string(text, file, diagnostics);
  if (!root) return 0;
  yaml::DecodeContext ctx{file, fs::path(file).parent_path().string(), &diagnostics, nullptr};
  return decode_test_file(yaml::Node(root, "", &ctx), UnitTestLimits{}).tests.size();
}

}  // namespace detail

}  // namespace tocsin::rules
