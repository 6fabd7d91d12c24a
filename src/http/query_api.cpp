#include "tocsin/http/query_api.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/json_text.hpp"
#include "tocsin/promql/parser.hpp"

namespace tocsin::http {

namespace {

// Prometheus caps a range query at 11,000 points per series.
constexpr Timestamp kMaxPoints = 11'000;

nlohmann::json metric_json(const Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

nlohmann::json point_json(Timestamp t, double v) {
  return nlohmann::json::array({static_cast<double>(t) / 1000.0, promql::format_value(v)});
}

// A JSON string, bad UTF-8 replaced as json_text does.
void append_json_string(std::string& out, const std::string& s) { out += json_text(nlohmann::json(s)); }

// Prometheus's marshalTimestamp: seconds, and milliseconds as three digits when not zero ("60.500").
void append_timestamp(std::string& out, Timestamp t) {
  if (t < 0) {
    out += '-';
    t = -t;
  }
  out += std::to_string(t / 1000);
  if (const Timestamp ms = t % 1000; ms != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(ms));
    out += buf;
  }
}

// A matrix written straight to text: a tree of nlohmann::json values costs ~100 bytes per point, and a
// range query's reply can hold millions of points.
std::string matrix_reply(const promql::Matrix& m) {
  std::size_t points = 0;
  for (const auto& series : m) points += series.points.size();
  std::string out;
  out.reserve(64 + m.size() * 128 + points * 24);
  out += R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"metric":{)";
    bool first = true;
    for (const Label& l : m[i].labels) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, l.name);
      out += ':';
      append_json_string(out, l.value);
    }
    out += R"(},"values":[)";
    for (std::size_t j = 0; j < m[i].points.size(); ++j) {
      const Point& p = m[i].points[j];
      if (j > 0) out += ',';
      out += '[';
      append_timestamp(out, p.t);
      out += ",\"";
      out += promql::format_value(p.v);
      out += "\"]";
    }
    out += "]}";
  }
  out += "]}}";
  return out;
}

// The largest |timestamp| the API accepts, in ms (about 146 million years either side of 1970): the
// difference of two of them, and a step added to one, stay within 64 bits.
constexpr Timestamp kMaxApiTime = Timestamp(1) << 62;

Response query_error(const std::exception& e) {
  if (const auto* q = dynamic_cast<const promql::QueryError*>(&e)) {
    if (q->kind() == promql::QueryError::Kind::timeout) return Response::api_error(503, "timeout", q->what());
    if (q->kind() == promql::QueryError::Kind::cancelled)
      return Response::api_error(503, "canceled", q->what());
    return Response::api_error(422, "execution", q->what());
  }
  if (dynamic_cast<const promql::ParseError*>(&e)) return Response::api_error(400, "bad_data", e.what());
  return Response::api_error(500, "internal", e.what());
}

// Applies the request's `timeout` (never above the engine's own).
std::optional<std::string> apply_timeout(const Request& req, promql::EngineOptions& options) {
  auto timeout = req.param("timeout");
  if (!timeout) return std::nullopt;
  auto d = parse_api_duration(*timeout);
  if (!d || *d <= Duration(0))
    return "invalid parameter \"timeout\": cannot parse \"" + *timeout + "\" to a valid duration";
  options.timeout = std::min(options.timeout, std::chrono::duration_cast<std::chrono::milliseconds>(*d));
  return std::nullopt;
}

std::vector<std::vector<store::Matcher>> parse_match_params(const Request& req, std::string& error) {
  std::vector<std::vector<store::Matcher>> out;
  auto [begin, end] = req.params.equal_range("match[]");
  for (auto it = begin; it != end; ++it) {
    try {
      promql::ExprPtr e = promql::parse(it->second);
      const auto* vs = std::get_if<promql::VectorSelector>(&e->node);
      if (vs == nullptr) {
        error = "invalid parameter \"match[]\": expected a series selector, got \"" + it->second + "\"";
        return {};
      }
      out.push_back(vs->matchers);
    } catch (const promql::ParseError& e) {
      error = "invalid parameter \"match[]\": " + std::string(e.what());
      return {};
    }
  }
  return out;
}

// The query endpoints, one member function each; add_query_routes registers them.
class QueryApi {
 public:
  QueryApi(const store::Querier& querier, const Clock& clock, std::function<promql::EngineOptions()> options,
           std::shared_ptr<QueryExecutor> executor)
      : querier_(querier), clock_(clock), options_(std::move(options)), executor_(std::move(executor)) {}

  // GET|POST /api/v1/query: query, time (default now), timeout.
  Response query(const Request& req) const;
  // GET|POST /api/v1/query_range: query, start, end, step, timeout.
  Response query_range(const Request& req) const;
  // GET|POST /api/v1/series: match[] (at least one), start, end.
  Response series(const Request& req) const;
  // GET|POST /api/v1/labels: match[] (default all series), start, end.
  Response label_names(const Request& req) const;
  // GET /api/v1/label/{name}/values: match[] (default all series), start, end.
  Response label_values(const Request& req) const;
  // GET|POST /api/v1/query_exemplars: query, start, end. Always an empty list (no exemplars kept), after
  // the same checks as Prometheus's, so Grafana's exemplar toggle works.
  Response query_exemplars(const Request& req) const;
  // GET|POST /api/v1/format_query: the query as tocsin prints it (Prometheus's String() form).
  Response format_query(const Request& req) const;

 private:
  // The [mint, maxt] of series and label lookups: start and end, by default the last 5 minutes.
  // Returns the error message of a bad parameter.
  std::optional<std::string> window(const Request& req, Timestamp& mint, Timestamp& maxt) const;
  // The label sets of every series any of `sets` selects in [mint, maxt], each once.
  std::set<Labels> collect(const std::vector<std::vector<store::Matcher>>& sets, Timestamp mint,
                           Timestamp maxt) const;
  static std::vector<std::vector<store::Matcher>> all_series() {
    return {{store::Matcher(MatchType::regex, "__name__", ".+")}};
  }

  // The engine's options for one query: the config's, stopped when the executor stops.
  promql::EngineOptions engine_options() const {
    promql::EngineOptions o = options_();
    if (executor_) o.cancelled = &executor_->cancelled();
    return o;
  }

  const store::Querier& querier_;
  const Clock& clock_;
  std::function<promql::EngineOptions()> options_;
  std::shared_ptr<QueryExecutor> executor_;
};

// GET /api/v1/metadata and /api/v1/status/buildinfo; add_metadata_routes registers them.
class MetadataApi {
 public:
  MetadataApi(const store::Store& store, BuildInfo build) : store_(store), build_(std::move(build)) {}

  Response metadata(const Request& req) const;
  Response build_info(const Request& req) const;

 private:
  const store::Store& store_;
  const BuildInfo build_;
};

Response MetadataApi::metadata(const Request& req) const {
  std::optional<long long> limit, per_metric;
  for (auto [name, out] : {std::pair{"limit", &limit}, std::pair{"limit_per_metric", &per_metric}}) {
    auto text = req.param(name);
    if (!text) continue;
    long long n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return Response::api_error(400, "bad_data",
                                 std::string("invalid parameter \"") + name + "\": cannot parse \"" + *text +
                                     "\" to a valid integer");
    }
    if (n >= 0) *out = n;  // Prometheus: a negative limit means none
  }
  const std::string metric(req.param("metric").value_or(""));
  // Ordered by family name; one entry per distinct (type, help) of a family.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> families;
  store_.for_each_latest([&](const store::LatestSample& s) {
    const store::FamilyMetadata& f = *s.family;
    if (f.type == store::MetricType::untyped && f.help.empty()) return;
    if (!metric.empty() && f.name != metric) return;
    auto& entries = families[f.name];
    const std::string type =
        f.type == store::MetricType::untyped ? "unknown" : std::string(store::to_string(f.type));
    for (const auto& e : entries) {
      if (e.first == type && e.second == f.help) return;
    }
    entries.emplace_back(type, f.help);
  });
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [name, entries] : families) {
    if (limit && static_cast<long long>(data.size()) >= *limit) break;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [type, help] : entries) {
      if (per_metric && static_cast<long long>(list.size()) >= *per_metric) break;
      list.push_back({{"type", type}, {"help", help}, {"unit", ""}});
    }
    data[name] = std::move(list);
  }
  return Response::api_success(std::move(data));
}

Response MetadataApi::build_info(const Request&) const {
  // Grafana turns features on by the Prometheus version it reads here: the API tocsin serves is 2.42's.
  return Response::api_success({{"version", std::string(kPrometheusApiVersion)},
                                {"tocsinVersion", build_.version},
                                {"revision", build_.revision},
                                {"branch", build_.branch},
                                {"buildUser", build_.build_user},
                                {"buildDate", build_.build_date},
                                {"goVersion", build_.go_version}});
}

Response QueryApi::query_exemplars(const Request& req) const {
  auto query = req.param("query");
  if (!query || query->empty())
    return Response::api_error(400, "bad_data", "invalid parameter \"query\": query must not be empty");
  for (const char* name : {"start", "end"}) {
    auto text = req.param(name);
    if (text && !parse_api_time(*text)) {
      return Response::api_error(400, "bad_data",
                                 std::string("invalid parameter \"") + name + "\": cannot parse \"" + *text +
                                     "\" to a valid timestamp");
    }
  }
  try {
    promql::parse(*query);
  } catch (const promql::ParseError& e) {
    return Response::api_error(400, "bad_data", e.what());  // as Prometheus: the parse error alone
  }
  return Response::api_success(nlohmann::json::array());  // tocsin keeps no exemplars
}

Response QueryApi::format_query(const Request& req) const {
  auto query = req.param("query");
  if (!query || query->empty())
    return Response::api_error(400, "bad_data", "invalid parameter \"query\": query must not be empty");
  try {
    return Response::api_success(promql::to_string(*promql::parse(*query)));
  } catch (const promql::ParseError& e) {
    return Response::api_error(400, "bad_data", std::string("invalid parameter \"query\": ") + e.what());
  }
}

Response QueryApi::query(const Request& req) const {
  auto query = req.param("query");
  if (!query || query->empty())
    return Response::api_error(400, "bad_data", "invalid parameter \"query\": query must not be empty");
  Timestamp t = clock_.now_ms();
  if (auto time = req.param("time")) {
    auto parsed = parse_api_time(*time);
    if (!parsed)
      return Response::api_error(
          400, "bad_data", "invalid parameter \"time\": cannot parse \"" + *time + "\" to a valid timestamp");
    t = *parsed;
  }
  promql::EngineOptions engine_options = this->engine_options();
  if (auto e = apply_timeout(req, engine_options)) return Response::api_error(400, "bad_data", *e);
  try {
    promql::ExprPtr expr = promql::parse(*query);
    promql::Value v = promql::Engine(engine_options).instant(querier_, *expr, t);
    nlohmann::json result;
    std::string type;
    if (auto* s = std::get_if<promql::Scalar>(&v)) {
      type = "scalar";
      result = point_json(t, s->v);
    } else if (auto* str = std::get_if<promql::String>(&v)) {
      type = "string";
      result = nlohmann::json::array({static_cast<double>(t) / 1000.0, str->value});
    } else if (auto* vec = std::get_if<promql::Vector>(&v)) {
      type = "vector";
      result = nlohmann::json::array();
      for (const auto& s : *vec)
        result.push_back({{"metric", metric_json(s.labels)}, {"value", point_json(t, s.v)}});
    } else {
      return Response::json(200, matrix_reply(std::get<promql::Matrix>(v)));
    }
    return Response::api_success({{"resultType", type}, {"result", result}});
  } catch (const std::exception& e) {
    return query_error(e);
  }
}

Response QueryApi::query_range(const Request& req) const {
  auto query = req.param("query");
  if (!query || query->empty())
    return Response::api_error(400, "bad_data", "invalid parameter \"query\": query must not be empty");
  std::optional<Timestamp> start, end;
  for (const char* name : {"start", "end"}) {
    auto value = req.param(name);
    if (!value)
      return Response::api_error(400, "bad_data", std::string("invalid parameter \"") + name + "\": missing");
    auto parsed = parse_api_time(*value);
    if (!parsed) {
      return Response::api_error(400, "bad_data",
                                 std::string("invalid parameter \"") + name + "\": cannot parse \"" + *value +
                                     "\" to a valid timestamp");
    }
    (std::string(name) == "start" ? start : end) = parsed;
  }
  if (*end < *start)
    return Response::api_error(400, "bad_data",
                               "invalid parameter \"end\": end timestamp must not be before start time");
  auto step_text = req.param("step");
  if (!step_text) return Response::api_error(400, "bad_data", "invalid parameter \"step\": missing");
  auto step = parse_api_duration(*step_text);
  if (!step || *step <= Duration(0)) {
    return Response::api_error(
        400, "bad_data",
        "invalid parameter \"step\": zero or negative query resolution step widths are not "
        "accepted. Try a positive integer");
  }
  // Both times are within ±kMaxApiTime, so their difference cannot overflow.
  if ((*end - *start) / step->count() > kMaxPoints) {
    return Response::api_error(
        400, "bad_data",
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  promql::EngineOptions engine_options = this->engine_options();
  if (auto e = apply_timeout(req, engine_options)) return Response::api_error(400, "bad_data", *e);
  try {
    promql::ExprPtr expr = promql::parse(*query);
    promql::Matrix m = promql::Engine(engine_options).range(querier_, *expr, *start, *end, *step);
    return Response::json(200, matrix_reply(m));
  } catch (const std::exception& e) {
    if (dynamic_cast<const promql::QueryError*>(&e) &&
        std::string(e.what()).starts_with("invalid expression type")) {
      return Response::api_error(400, "bad_data", e.what());
    }
    return query_error(e);
  }
}

std::optional<std::string> QueryApi::window(const Request& req, Timestamp& mint, Timestamp& maxt) const {
  maxt = clock_.now_ms();
  mint = maxt - 5 * 60 * 1000;
  if (auto s = req.param("start")) {
    auto t = parse_api_time(*s);
    if (!t) return "invalid parameter \"start\": cannot parse \"" + *s + "\" to a valid timestamp";
    mint = *t;
  }
  if (auto e = req.param("end")) {
    auto t = parse_api_time(*e);
    if (!t) return "invalid parameter \"end\": cannot parse \"" + *e + "\" to a valid timestamp";
    maxt = *t;
  }
  return std::nullopt;
}

std::set<Labels> QueryApi::collect(const std::vector<std::vector<store::Matcher>>& sets, Timestamp mint,
                                   Timestamp maxt) const {
  std::set<Labels> out;
  for (const auto& matchers : sets) {
    store::SeriesSet s = querier_.select(matchers, mint, maxt);
    for (std::size_t i = 0; i < s.size(); ++i) out.insert(s.labels(i));
  }
  return out;
}

Response QueryApi::series(const Request& req) const {
  Timestamp mint, maxt;
  if (auto e = window(req, mint, maxt)) return Response::api_error(400, "bad_data", *e);
  std::string error;
  auto sets = parse_match_params(req, error);
  if (!error.empty()) return Response::api_error(400, "bad_data", error);
  if (sets.empty()) return Response::api_error(400, "bad_data", "no match[] parameter provided");
  nlohmann::json out = nlohmann::json::array();
  for (const Labels& l : collect(sets, mint, maxt)) out.push_back(metric_json(l));
  return Response::api_success(out);
}

Response QueryApi::label_names(const Request& req) const {
  Timestamp mint, maxt;
  if (auto e = window(req, mint, maxt)) return Response::api_error(400, "bad_data", *e);
  std::string error;
  auto sets = parse_match_params(req, error);
  if (!error.empty()) return Response::api_error(400, "bad_data", error);
  if (sets.empty()) sets = all_series();
  std::set<std::string> names;
  for (const Labels& l : collect(sets, mint, maxt)) {
    for (const Label& label : l) names.insert(label.name);
  }
  return Response::api_success(nlohmann::json(std::vector<std::string>(names.begin(), names.end())));
}

Response QueryApi::label_values(const Request& req) const {
  Timestamp mint, maxt;
  if (auto e = window(req, mint, maxt)) return Response::api_error(400, "bad_data", *e);
  const std::string name = req.path_params.at("name");
  if (!is_valid_label_name(name))
    return Response::api_error(400, "bad_data", "invalid label name: \"" + name + "\"");
  std::string error;
  auto sets = parse_match_params(req, error);
  if (!error.empty()) return Response::api_error(400, "bad_data", error);
  if (sets.empty()) sets = all_series();
  std::set<std::string> values;
  for (const Labels& l : collect(sets, mint, maxt)) {
    if (auto v = l.get(name); !v.empty()) values.emplace(v);
  }
  return Response::api_success(nlohmann::json(std::vector<std::string>(values.begin(), values.end())));
}

}  // namespace

std::optional<Timestamp> parse_api_time(std::string_view text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) {
    if (std::fabs(seconds * 1000.0) >= static_cast<double>(kMaxApiTime)) return std::nullopt;
    return static_cast<Timestamp>(std::llround(seconds * 1000.0));
  }
  // RFC 3339: 2006-01-02T15:04:05[.frac](Z|±hh:mm)
  std::tm tm{};
  const std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  Timestamp ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  long offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    const int sign = *rest == '-' ? -1 : 1;
    int hh = 0, mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset = sign * (hh * 3600 + mm * 60);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  const Timestamp t = (static_cast<Timestamp>(timegm(&tm)) - offset) * 1000 + ms;
  if (t <= -kMaxApiTime || t >= kMaxApiTime) return std::nullopt;
  return t;
}

std::optional<Duration> parse_api_duration(std::string_view text) {
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds) && seconds >= 0) {
    if (seconds * 1000.0 >= static_cast<double>(kMaxApiTime)) return std::nullopt;
    return Duration(static_cast<Duration::rep>(std::llround(seconds * 1000.0)));
  }
  auto d = parse_duration(text);
  if (d && d->count() >= kMaxApiTime) return std::nullopt;
  return d;
}

void add_query_routes(Router& router, const store::Querier& querier, const Clock& clock,
                      std::function<promql::EngineOptions()> options,
                      std::shared_ptr<QueryExecutor> executor) {
  auto api = std::make_shared<const QueryApi>(querier, clock, std::move(options), executor);
  // The endpoints that read the store run on the query executor (when given), not the worker pool.
  auto add = [&](const char* method, const char* path, Handler handler) {
    if (executor) {
      router.add(method, path, std::move(handler), executor);
    } else {
      router.add(method, path, std::move(handler));
    }
  };
  for (const char* method : {"GET", "POST"}) {
    add(method, "/api/v1/query", endpoint_handler(api, &QueryApi::query));
    add(method, "/api/v1/query_range", endpoint_handler(api, &QueryApi::query_range));
    add(method, "/api/v1/series", endpoint_handler(api, &QueryApi::series));
    add(method, "/api/v1/labels", endpoint_handler(api, &QueryApi::label_names));
  }
  add("GET", "/api/v1/label/{name}/values", endpoint_handler(api, &QueryApi::label_values));
  for (const char* method : {"GET", "POST"}) {
    router.add(method, "/api/v1/query_exemplars", endpoint_handler(api, &QueryApi::query_exemplars));
    router.add(method, "/api/v1/format_query", endpoint_handler(api, &QueryApi::format_query));
  }
}

void add_metadata_routes(Router& router, const store::Store& store, BuildInfo build) {
  auto api = std::make_shared<const MetadataApi>(store, std::move(build));
  router.add("GET", "/api/v1/metadata", endpoint_handler(api, &MetadataApi::metadata));
  router.add("GET", "/api/v1/status/buildinfo", endpoint_handler(api, &MetadataApi::build_info));
}

}  // namespace tocsin::http
