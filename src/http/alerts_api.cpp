#include "tocsin/http/alerts_api.hpp"

#include <charconv>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "tocsin/alerting/time_format.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/core/json_text.hpp"
#include "tocsin/store/matcher.hpp"

namespace tocsin::http {

namespace {

using alerting::format_rfc3339;
using nlohmann::json;

json time_or_null(Timestamp t) { return t == 0 ? json(nullptr) : json(format_rfc3339(t)); }

json labels_json(const Labels& labels) {
  json out = json::object();
  for (const Label& l : labels) out[l.name] = l.value;
  return out;
}

json alert_json(const alerting::AlertView& a) {
  json ack = nullptr;
  if (a.ack) {
    ack = {{"by", a.ack->by},
           {"comment", a.ack->comment},
           {"at", time_or_null(a.ack->at)},
           {"expiresAt", time_or_null(a.ack->expires_at)},
           {"severity", a.ack->severity}};
  }
  return {{"id", a.id},
          {"labels", labels_json(a.labels)},
          {"annotations", labels_json(a.annotations)},
          {"state", std::string(alerting::to_string(a.state))},
          {"activeAt", time_or_null(a.active_at)},
          {"firedAt", time_or_null(a.fired_at)},
          {"value", format_api_value(a.value)},
          {"severity", a.severity},
          {"ruleGroup", a.rule_group},
          {"escalation",
           {{"policy", a.policy},
            {"step", a.step},
            {"steps", a.steps},
            {"stepAt", time_or_null(a.step_at)},
            {"nextStepAt", time_or_null(a.next_step_at)},
            {"receivers", a.step_receivers}}},
          {"notified", a.notified},
          {"acknowledged", ack},
          {"silencedBy", a.silenced_by},
          {"inhibitedBy", a.inhibited_by},
          {"mutedBy", a.muted_by.empty() ? json(nullptr) : json(a.muted_by)},
          {"flapping", a.flapping},
          {"stateChanges", a.state_changes}};
}

json silence_json(const alerting::Silence& s, Timestamp now) {
  json matchers = json::array();
  json text = json::array();
  for (const auto& m : s.matchers) {
    bool regex = m.type == MatchType::regex || m.type == MatchType::not_regex;
    bool equal = m.type == MatchType::equal || m.type == MatchType::regex;
    matchers.push_back({{"name", m.name}, {"value", m.value}, {"isRegex", regex}, {"isEqual", equal}});
    text.push_back(config::to_string(m));
  }
  return {{"id", s.id},
          {"matchers", matchers},
          {"matchersText", text},
          {"startsAt", format_rfc3339(s.starts_at)},
          {"endsAt", format_rfc3339(s.ends_at)},
          {"updatedAt", format_rfc3339(s.updated_at)},
          {"createdBy", s.created_by},
          {"comment", s.comment},
          {"status", {{"state", std::string(s.status(now))}}}};
}

// Compares without leaking where the first difference is through timing.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// nullopt when the request may mutate; else the response to send.
std::optional<Response> check_token(const Request& req, const alerting::Dispatcher& dispatcher) {
  std::string token = dispatcher.api_token();
  if (token.empty()) {
    return Response::api_error(
        403, "disabled",
        "changes through the API are disabled: set alerting.api_token_file in the config to enable them");
  }
  auto header = req.header("authorization");
  if (!header || !header->starts_with("Bearer ") || !same_secret(header->substr(7), token)) {
    Response r = Response::api_error(401, "unauthorized",
                                     "a valid \"Authorization: Bearer <token>\" header is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tocsin\"");
    return r;
  }
  return std::nullopt;
}

// The request's fields: a JSON object body, or query/form parameters.
std::variant<json, std::string> body_of(const Request& req) {
  std::string type = req.header("content-type").value_or("");
  bool looks_json = type.starts_with("application/json") || (!req.body.empty() && req.body.front() == '{');
  if (looks_json && !req.body.empty()) {
    try {
      json j = parse_json_bounded(req.body);
      if (!j.is_object()) return std::string("the body must be a JSON object");
      return j;
    } catch (const json::exception& e) {
      return std::string("invalid JSON body: ") + e.what();
    }
  }
  json j = json::object();
  for (const auto& [k, v] : req.params) {
    if (k == "matchers" || k == "matcher") {
      j["matchers"].push_back(v);
    } else {
      j[k] = v;
    }
  }
  return j;
}

std::optional<std::string> string_field(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::string(key) + " must be a string";
  out = it->get<std::string>();
  return std::nullopt;
}

// "expires": "1h" (from now) or "expiresAt" / "endsAt": RFC 3339.
std::optional<std::string> time_field(const json& j, const char* absolute, const char* relative,
                                      Timestamp now, std::optional<Timestamp>& out) {
  std::string text;
  if (auto e = string_field(j, absolute, text)) return e;
  if (!text.empty()) {
    auto t = alerting::parse_rfc3339(text);
    if (!t)
      return std::string(absolute) + ": invalid time \"" + text + "\" (RFC 3339, e.g. 2024-03-04T12:00:00Z)";
    out = *t;
  }
  text.clear();
  if (auto e = string_field(j, relative, text)) return e;
  if (!text.empty()) {
    if (out) return "give either " + std::string(absolute) + " or " + relative + ", not both";
    auto d = parse_duration(text);
    if (!d || d->count() <= 0)
      return std::string(relative) + ": invalid duration \"" + text + "\" (e.g. 30m, 2h)";
    out = now + d->count();
  }
  return std::nullopt;
}

std::variant<alerting::Silence, std::string> silence_from(const json& j, Timestamp now) {
  alerting::Silence s;
  if (auto e = string_field(j, "id", s.id)) return *e;
  if (auto e = string_field(j, "createdBy", s.created_by)) return *e;
  if (s.created_by.empty()) {
    if (auto e = string_field(j, "by", s.created_by)) return *e;
  }
  if (auto e = string_field(j, "comment", s.comment)) return *e;
  auto matchers = j.find("matchers");
  if (matchers == j.end() || !matchers->is_array()) return std::string("matchers must be a list");
  for (const json& m : *matchers) {
    config::LabelMatcher out;
    if (m.is_string()) {
      if (auto err = config::parse_label_matcher(m.get<std::string>(), out)) return "matchers: " + *err;
    } else if (m.is_object() && m.contains("name") && m.contains("value") && m["name"].is_string() &&
               m["value"].is_string()) {
      bool regex = m.value("isRegex", false);
      bool equal = m.value("isEqual", true);
      out.name = m["name"].get<std::string>();
      out.value = m["value"].get<std::string>();
      out.type = regex ? (equal ? MatchType::regex : MatchType::not_regex)
                       : (equal ? MatchType::equal : MatchType::not_equal);
      if (!is_valid_label_name(out.name)) return "matchers: invalid label name \"" + out.name + "\"";
    } else {
      return std::string("each matcher is a string like name=\"value\" or {name, value, isRegex, isEqual}");
    }
    s.matchers.push_back(std::move(out));
  }
  std::optional<Timestamp> starts;
  std::optional<Timestamp> ends;
  if (auto e = time_field(j, "startsAt", "", now, starts); e && !e->empty()) return *e;
  if (auto e = time_field(j, "endsAt", "duration", now, ends)) return *e;
  if (!ends) return std::string("give endsAt (RFC 3339) or duration (e.g. 2h)");
  s.starts_at = starts.value_or(now);
  s.ends_at = *ends;
  return s;
}

// The alerts API's endpoints, one member function each (the header lists their parameters);
// add_alerts_api registers them.
class AlertsApi {
 public:
  AlertsApi(alerting::Dispatcher& dispatcher, const Clock& clock) : dispatcher_(dispatcher), clock_(clock) {}

  Response alerts(const Request& req) const;          // GET /api/v1/alerts
  Response alert(const Request& req) const;           // GET /api/v1/alerts/{id}
  Response acknowledge(const Request& req) const;     // POST /api/v1/alerts/{id}/ack
  Response unacknowledge(const Request& req) const;   // DELETE /api/v1/alerts/{id}/ack
  Response silences(const Request& req) const;        // GET /api/v1/silences
  Response silence(const Request& req) const;         // GET /api/v1/silences/{id}
  Response create_silence(const Request& req) const;  // POST /api/v1/silences
  Response expire_silence(const Request& req) const;  // DELETE /api/v1/silences/{id}

 private:
  alerting::Dispatcher& dispatcher_;
  const Clock& clock_;
};

Response AlertsApi::alerts(const Request& req) const {
  std::optional<std::string> state = req.param("state");
  std::vector<store::Matcher> filters;
  for (auto [it, end] = req.params.equal_range("filter"); it != end; ++it) {
    config::LabelMatcher m;
    if (auto err = config::parse_label_matcher(it->second, m))
      return Response::api_error(400, "bad_data", "filter: " + *err);
    filters.emplace_back(m.type, m.name, m.value);
  }
  json alerts = json::array();
  for (const auto& a : dispatcher_.alerts()) {
    // Resolved alerts still settling (flapping) only when asked for, as Prometheus lists active ones.
    if (state ? (*state != "all" && alerting::to_string(a.state) != *state)
              : a.state == alerting::AlertState::resolved) {
      continue;
    }
    bool match = std::all_of(filters.begin(), filters.end(),
                             [&](const store::Matcher& m) { return m.matches(a.labels.get(m.name())); });
    if (match) alerts.push_back(alert_json(a));
  }
  // Prometheus's reply, plus which daemon this is (tocsin alerts prints it above the table).
  return Response::api_success({{"alerts", alerts}, {"externalLabels", dispatcher_.external_labels()}});
}

Response AlertsApi::alert(const Request& req) const {
  auto a = dispatcher_.alert(req.path_params.at("id"));
  if (!a) return Response::api_error(404, "not_found", "no alert with id " + req.path_params.at("id"));
  return Response::api_success(alert_json(*a));
}

Response AlertsApi::acknowledge(const Request& req) const {
  if (auto denied = check_token(req, dispatcher_)) return *denied;
  auto body = body_of(req);
  if (auto* e = std::get_if<std::string>(&body)) return Response::api_error(400, "bad_data", *e);
  const json& j = std::get<json>(body);
  alerting::Dispatcher::AckRequest ack;
  if (auto e = string_field(j, "by", ack.by)) return Response::api_error(400, "bad_data", *e);
  if (auto e = string_field(j, "comment", ack.comment)) return Response::api_error(400, "bad_data", *e);
  if (auto e = time_field(j, "expiresAt", "expires", clock_.now_ms(), ack.expires_at))
    return Response::api_error(400, "bad_data", *e);
  if (ack.by.empty()) return Response::api_error(400, "bad_data", "say who acknowledges: by");
  auto result = dispatcher_.acknowledge(req.path_params.at("id"), ack);
  if (auto* e = std::get_if<std::string>(&result)) {
    return Response::api_error(e->starts_with("no alert") ? 404 : 409,
                               e->starts_with("no alert") ? "not_found" : "conflict", *e);
  }
  return Response::api_success(alert_json(std::get<alerting::AlertView>(result)));
}

Response AlertsApi::unacknowledge(const Request& req) const {
  if (auto denied = check_token(req, dispatcher_)) return *denied;
  auto result = dispatcher_.unacknowledge(req.path_params.at("id"));
  if (auto* e = std::get_if<std::string>(&result)) {
    return Response::api_error(e->starts_with("no alert") ? 404 : 409,
                               e->starts_with("no alert") ? "not_found" : "conflict", *e);
  }
  return Response::api_success(alert_json(std::get<alerting::AlertView>(result)));
}

Response AlertsApi::silences(const Request& req) const {
  bool all = req.param("all").value_or("false") == "true";
  Timestamp now = clock_.now_ms();
  json out = json::array();
  for (const auto& s : dispatcher_.silences()) {
    if (all || s.status(now) != "expired") out.push_back(silence_json(s, now));
  }
  return Response::api_success(out);
}

Response AlertsApi::silence(const Request& req) const {
  for (const auto& s : dispatcher_.silences()) {
    if (s.id == req.path_params.at("id")) return Response::api_success(silence_json(s, clock_.now_ms()));
  }
  return Response::api_error(404, "not_found", "no silence with id " + req.path_params.at("id"));
}

Response AlertsApi::create_silence(const Request& req) const {
  if (auto denied = check_token(req, dispatcher_)) return *denied;
  auto body = body_of(req);
  if (auto* e = std::get_if<std::string>(&body)) return Response::api_error(400, "bad_data", *e);
  auto silence = silence_from(std::get<json>(body), clock_.now_ms());
  if (auto* e = std::get_if<std::string>(&silence)) return Response::api_error(400, "bad_data", *e);
  auto created = dispatcher_.create_silence(std::get<alerting::Silence>(std::move(silence)));
  if (auto* e = std::get_if<std::string>(&created)) {
    return Response::api_error(e->starts_with("no silence") ? 404 : 400,
                               e->starts_with("no silence") ? "not_found" : "bad_data", *e);
  }
  const auto& s = std::get<alerting::Silence>(created);
  json data = silence_json(s, clock_.now_ms());
  data["silenceID"] = s.id;
  return Response::api_success(data);
}

Response AlertsApi::expire_silence(const Request& req) const {
  if (auto denied = check_token(req, dispatcher_)) return *denied;
  if (auto e = dispatcher_.expire_silence(req.path_params.at("id"))) {
    return Response::api_error(e->starts_with("no silence") ? 404 : 409,
                               e->starts_with("no silence") ? "not_found" : "conflict", *e);
  }
  return Response::api_success(nullptr);
}

}  // namespace

std::string format_api_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, r.ptr);
}

void add_alerts_api(Router& router, alerting::Dispatcher& dispatcher, const Clock& clock) {
  auto api = std::make_shared<const AlertsApi>(dispatcher, clock);
  router.add("GET", "/api/v1/alerts", endpoint_handler(api, &AlertsApi::alerts));
  router.add("GET", "/api/v1/alerts/{id}", endpoint_handler(api, &AlertsApi::alert));
  router.add("POST", "/api/v1/alerts/{id}/ack", endpoint_handler(api, &AlertsApi::acknowledge));
  router.add("DELETE", "/api/v1/alerts/{id}/ack", endpoint_handler(api, &AlertsApi::unacknowledge));
  router.add("GET", "/api/v1/silences", endpoint_handler(api, &AlertsApi::silences));
  router.add("GET", "/api/v1/silences/{id}", endpoint_handler(api, &AlertsApi::silence));
  router.add("POST", "/api/v1/silences", endpoint_handler(api, &AlertsApi::create_silence));
  router.add("DELETE", "/api/v1/silences/{id}", endpoint_handler(api, &AlertsApi::expire_silence));
}

}  // namespace tocsin::http
