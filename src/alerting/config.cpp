#include "tocsin/alerting/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>

#include "tocsin/core/labels.hpp"

namespace tocsin::config {

using yaml::MapDecoder;
using yaml::Node;
using yaml::Secret;

namespace {

using namespace std::chrono_literals;

std::string quote(std::string_view s) {
  std::string out = "\"";
  append_escaped_label_value(out, s);
  return out + '"';
}

std::string trim(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Iterates a YAML mapping as (key, child node) pairs; reports and skips non-scalar keys.
template <typename F>
void for_each_entry(const Node& node, F&& f) {
  if (node.is_null()) return;
  if (!node.is_map()) {
    node.error("expected a mapping, got " + node.kind());
    return;
  }
  for (const auto& entry : node.yaml()) {
    if (!entry.first.IsScalar()) {
      node.error("keys must be strings");
      continue;
    }
    f(entry.first.Scalar(), node.child(entry.second, entry.first.Scalar()));
  }
}

// A list of names, each checked against `known`; an unknown one is reported at its own position.
template <typename Known>
std::vector<std::string> decode_names(const Node& node, const Known& known, std::string_view what,
                                      std::string_view hint) {
  std::vector<std::string> out;
  if (node.is_null()) return out;
  std::vector<Node> items;
  if (node.is_scalar()) {
    items.push_back(node);  // a single name is accepted for a one-element list
  } else {
    items = node.items();
  }
  for (const Node& item : items) {
    std::string name;
    if (!decode(item, name)) continue;
    if (!known.contains(name)) {
      item.error("unknown " + std::string(what) + " " + quote(name) + std::string(hint));
      continue;
    }
    out.push_back(std::move(name));
  }
  return out;
}

template <typename Map>
std::string known_list(const Map& map) {
  std::string out;
  for (const auto& [name, _] : map) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? " (none are defined)" : " (defined: " + out + ")";
}

void decode_matcher_map(const Node& node, MatchType type, std::vector<LabelMatcher>& out) {
  for_each_entry(node, [&](const std::string& key, const Node& child) {
    std::string value;
    if (!decode(child, value)) return;
    if (!is_valid_label_name(key)) {
      child.error("invalid label name " + quote(key));
      return;
    }
    LabelMatcher m{key, type, value};
    if (type == MatchType::regex) {
      try {
        store::Matcher check(type, key, value);
      } catch (const std::invalid_argument& e) {
        child.error(e.what());
        return;
      }
    }
    out.push_back(std::move(m));
  });
}

void decode_matcher_list(const Node& node, std::vector<LabelMatcher>& out) {
  if (node.is_null()) return;
  for (const Node& item : node.items()) {
    std::string text;
    if (!decode(item, text)) continue;
    LabelMatcher m;
    if (auto err = parse_label_matcher(text, m)) {
      item.error(*err);
      continue;
    }
    out.push_back(std::move(m));
  }
}

// match: {name: value}, match_re: {name: regex}, matchers: ['name=~"regex"', ...]: all combined.
void decode_matchers(MapDecoder& map, std::string_view prefix, std::vector<LabelMatcher>& out) {
  std::string p(prefix);
  if (auto n = map.get(p + "match")) decode_matcher_map(*n, MatchType::equal, out);
  if (auto n = map.get(p + "match_re")) decode_matcher_map(*n, MatchType::regex, out);
  if (auto n = map.get(p + "matchers")) decode_matcher_list(*n, out);
}

void decode_label_names(MapDecoder& map, std::string_view key, std::vector<std::string>& out) {
  auto n = map.get(key);
  if (!n || n->is_null()) return;
  out.clear();
  for (const Node& item : n->items()) {
    std::string name;
    if (!decode(item, name)) continue;
    if (!is_valid_label_name(name)) {
      item.error("invalid label name " + quote(name));
      continue;
    }
    out.push_back(std::move(name));
  }
}

// A duration of at least `minimum`.
void at_least(MapDecoder& map, std::string_view key, Duration& out, Duration minimum) {
  auto n = map.get(key);
  if (!n || n->is_null()) return;
  Duration d{};
  if (!decode(*n, d)) return;
  if (d < minimum) {
    n->error("must be at least " + format_duration(minimum));
    return;
  }
  out = d;
}

// ---- receivers ----

std::optional<ReceiverType> receiver_type(std::string_view s) {
  if (s == "log") return ReceiverType::log;
  if (s == "webhook") return ReceiverType::webhook;
  if (s == "alertmanager") return ReceiverType::alertmanager;
  if (s == "pagerduty") return ReceiverType::pagerduty;
  if (s == "slack") return ReceiverType::slack;
  if (s == "exec") return ReceiverType::exec;
  return std::nullopt;
}

// The HTTP client refuses URLs with credentials in them (user:password@host) on every send, so they
// are refused here, without echoing them: headers or bearer_token carry credentials.
bool check_no_userinfo(const Node& node, const std::string& url) {
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) rest.remove_prefix(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') == std::string_view::npos) return true;
  node.error(
      "credentials in the URL (user:password@host) are not supported; give them as bearer_token or "
      "an Authorization header");
  return false;
}

void decode_tls(const Node& node, TlsConfig& out) {
  MapDecoder map(node);
  map.optional("insecure_skip_verify", out.insecure_skip_verify);
  if (auto n = map.get("ca_file"); n && !n->is_null() && decode(*n, out.ca_file)) {
    out.ca_file = resolve_path(node.context(), out.ca_file);
    std::ifstream in(out.ca_file);
    if (!in) n->error("cannot read " + out.ca_file);
  }
  map.optional("server_name", out.server_name);
  map.finish();
}

void decode_http_settings(MapDecoder& map, ReceiverConfig& out) {
  map.optional("headers", out.headers);
  if (auto n = map.get("headers"); n && !n->is_null()) {
    for (const auto& [name, _] : out.headers) {
      bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
      if (!ok) n->error("invalid header name " + quote(name));
    }
  }
  map.secret("bearer_token", out.bearer_token);
  at_least(map, "timeout", out.timeout, 100ms);
  if (auto n = map.get("tls"); n && !n->is_null()) decode_tls(*n, out.tls);
}

void decode_receiver(const std::string& name, const Node& node, ReceiverConfig& out) {
  out.name = name;
  MapDecoder map(node);
  if (!map.valid()) return;
  std::string type_name;
  auto type_node = map.get("type");
  if (!type_node || type_node->is_null()) {
    map.missing("type");
  } else if (decode(*type_node, type_name)) {
    if (auto t = receiver_type(type_name)) {
      out.type = *t;
    } else {
      // The other keys depend on the type: not checking them avoids a flood of "unknown key".
      type_node->error("unknown receiver type " + quote(type_name) +
                       " (log, webhook, alertmanager, pagerduty, slack, exec)");
      return;
    }
  }
  map.optional("send_resolved", out.send_resolved);
  map.optional("send_acknowledged", out.send_acknowledged);
  switch (out.type) {
    case ReceiverType::log: break;
    case ReceiverType::webhook:
    case ReceiverType::slack:
    case ReceiverType::pagerduty: {
      if (out.type == ReceiverType::pagerduty) {
        out.url = Secret("https://events.pagerduty.com/v2/enqueue");
        if (map.secret("routing_key", out.routing_key, true) && out.routing_key.empty()) {
          if (map.has("routing_key_file")) {
            map.get("routing_key_file")->error("the routing key file is empty");
          } else {
            map.get("routing_key")->error("must not be empty: PagerDuty rejects every event without one");
          }
        }
      }
      bool has_url = map.has("url") || map.has("url_file");
      if (!has_url && out.type != ReceiverType::pagerduty) {
        map.missing("url");
      } else if (has_url && map.secret("url", out.url)) {
        auto n = map.has("url") ? map.get("url") : map.get("url_file");
        if (!out.url.empty() && check_http_url(*n, out.url.reveal(), true))
          check_no_userinfo(*n, out.url.reveal());
      }
      if (out.type == ReceiverType::slack) {
        map.optional("channel", out.channel);
        map.optional("username", out.username);
      }
      if (out.type == ReceiverType::pagerduty) map.optional("source", out.source);
      decode_http_settings(map, out);
      break;
    }
    case ReceiverType::alertmanager: {
      auto n = map.get("urls");
      if (!n || n->is_null()) {
        map.missing("urls");
      } else {
        for (const Node& item : n->is_scalar() ? std::vector<Node>{*n} : n->items()) {
          std::string url;
          if (!decode(item, url)) continue;
          while (url.size() > 1 && url.back() == '/') url.pop_back();
          if (check_http_url(item, url, false) && check_no_userinfo(item, url))
            out.alertmanager_urls.push_back(url);
        }
        if (!n->is_scalar() && n->is_sequence() && n->yaml().size() == 0) n->error("give at least one URL");
      }
      at_least(map, "resend_interval", out.resend_interval, 1s);
      decode_http_settings(map, out);
      break;
    }
    case ReceiverType::exec: {
      auto n = map.get("command");
      if (!n || n->is_null()) {
        map.missing("command");
      } else if (decode(*n, out.command) && out.command.empty()) {
        n->error("give the command as a list: [program, arg, ...]");
      }
      at_least(map, "timeout", out.timeout, 100ms);
      break;
    }
  }
  map.finish();
}

// ---- escalation policies and routes ----

void decode_policy(const std::string& name, const Node& node, const AlertingConfig& cfg,
                   EscalationPolicy& out) {
  out.name = name;
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto n = map.get("repeat"); n && !n->is_null()) {
    Duration d{};
    if (decode(*n, d)) {
      if (d < 1s) {
        n->error("must be at least 1s");
      } else {
        out.repeat = d;
      }
    }
  }
  auto steps = map.get("steps");
  if (!steps || steps->is_null()) {
    map.missing("steps");
  } else {
    std::vector<Node> items = steps->items();
    if (steps->is_sequence() && items.empty()) steps->error("give at least one step");
    Duration previous{-1};
    for (const Node& item : items) {
      EscalationStep step;
      MapDecoder s(item);
      if (!s.valid()) continue;
      if (auto a = s.get("after"); a && !a->is_null()) {
        if (decode(*a, step.after)) {
          if (step.after < Duration(0)) {
            a->error("must not be negative");
          } else if (step.after <= previous) {
            a->error("steps must come in increasing order of `after` (the previous step is after " +
                     format_duration(previous) + ")");
          }
          previous = step.after;
        }
      } else {
        previous = std::max(previous, Duration(0));
      }
      if (auto n = s.get("notify"); !n || n->is_null()) {
        s.missing("notify");
      } else {
        step.notify = decode_names(*n, cfg.receivers, "receiver", known_list(cfg.receivers));
        if (n->is_sequence() && n->yaml().size() == 0) n->error("give at least one receiver");
      }
      s.finish();
      out.steps.push_back(std::move(step));
    }
  }
  map.finish();
}

void decode_route(const Node& node, const AlertingConfig& cfg, RouteConfig& out) {
  out.position = node.position();
  MapDecoder map(node);
  if (!map.valid()) return;
  decode_matchers(map, "", out.matchers);
  bool has_policy = map.has("policy");
  bool has_notify = map.has("notify");
  if (has_policy && has_notify) {
    node.error("give either policy (escalation) or notify (receivers), not both");
  } else if (!has_policy && !has_notify) {
    node.error("give a policy (an escalation policy) or notify (a list of receivers)");
  }
  if (auto n = map.get("policy"); n && !n->is_null() && decode(*n, out.policy)) {
    if (!cfg.escalation_policies.contains(out.policy)) {
      n->error("unknown escalation policy " + quote(out.policy) + known_list(cfg.escalation_policies));
      out.policy.clear();
    }
  }
  if (auto n = map.get("notify")) {
    if (!n->is_null()) out.notify = decode_names(*n, cfg.receivers, "receiver", known_list(cfg.receivers));
    if (n->is_null() || (n->is_sequence() && n->yaml().size() == 0))
      n->error("give at least one receiver (notify: [log] to only log what it matches)");
  }
  if (auto n = map.get("repeat"); n && !n->is_null()) {
    Duration d{};
    if (has_policy) {
      n->error("repeat belongs to the escalation policy when a route names one");
    } else if (decode(*n, d)) {
      if (d < 1s) {
        n->error("must be at least 1s");
      } else {
        out.repeat = d;
      }
    }
  }
  if (map.has("group_by")) {
    std::vector<std::string> names;
    decode_label_names(map, "group_by", names);
    out.group_by = std::move(names);
  }
  if (auto n = map.get("group_wait"); n && !n->is_null()) {
    Duration d{};
    if (decode(*n, d)) out.group_wait = d;
  }
  if (auto n = map.get("mute_time_intervals")) {
    out.mute_time_intervals =
        decode_names(*n, cfg.time_intervals, "time interval", known_list(cfg.time_intervals));
  }
  if (auto n = map.get("active_time_intervals")) {
    out.active_time_intervals =
        decode_names(*n, cfg.time_intervals, "time interval", known_list(cfg.time_intervals));
  }
  map.finish();
}

// ---- time intervals ----

const std::vector<std::string> kWeekdays = {"sunday",   "monday", "tuesday", "wednesday",
                                            "thursday", "friday", "saturday"};
const std::vector<std::string> kMonths = {"january",   "february", "march",    "april",
                                          "may",       "june",     "july",     "august",
                                          "september", "october",  "november", "december"};

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int> parse_named(const std::string& s, const std::vector<std::string>& names,
                               int first_number) {
  std::string l = lower(trim(s));
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (l == names[i]) return static_cast<int>(i) + first_number;
  }
  return parse_int(l);
}

// "monday:friday", "saturday", "1:7", "-1"; `names` empty for plain numbers.
std::optional<IntRange> parse_range(const std::string& text, const std::vector<std::string>& names,
                                    int first_number) {
  std::size_t colon = text.find(':');
  auto begin = parse_named(text.substr(0, colon), names, first_number);
  auto end = colon == std::string::npos ? begin : parse_named(text.substr(colon + 1), names, first_number);
  if (!begin || !end) return std::nullopt;
  return IntRange{*begin, *end};
}

void decode_ranges(const Node& node, const std::vector<std::string>& names, int first_number, int lo, int hi,
                   bool allow_negative, std::string_view what, std::vector<IntRange>& out) {
  if (node.is_null()) return;
  for (const Node& item : node.items()) {
    std::string text;
    if (!decode(item, text)) continue;
    auto r = parse_range(text, names, first_number);
    auto in_bounds = [&](int v) { return (v >= lo && v <= hi) || (allow_negative && v <= -lo && v >= -hi); };
    if (!r || !in_bounds(r->begin) || !in_bounds(r->end)) {
      item.error("invalid " + std::string(what) + " " + quote(text));
      continue;
    }
    bool same_sign = (r->begin < 0) == (r->end < 0);
    if (!same_sign || r->begin > r->end) {
      item.error("invalid " + std::string(what) + " range " + quote(text) + " (the start must come first)");
      continue;
    }
    out.push_back(*r);
  }
}

std::optional<int> parse_clock(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto h = parse_int(std::string_view(s).substr(0, 2));
  auto m = parse_int(std::string_view(s).substr(3, 2));
  if (!h || !m || *h < 0 || *m < 0 || *m > 59 || *h > 24 || (*h == 24 && *m != 0)) return std::nullopt;
  return *h * 60 + *m;
}

void decode_times(const Node& node, std::vector<TimeOfDayRange>& out) {
  if (node.is_null()) return;
  for (const Node& item : node.items()) {
    MapDecoder map(item);
    if (!map.valid()) continue;
    std::string start;
    std::string end;
    // Both are read before either is checked, so both missing keys are reported at once.
    const bool has_start = map.required("start_time", start);
    const bool has_end = map.required("end_time", end);
    const bool ok = has_start && has_end;
    map.finish();
    if (!ok) continue;
    auto s = parse_clock(start);
    auto e = parse_clock(end);
    if (!s) item.error("invalid start_time " + quote(start) + " (use HH:MM, 00:00 to 23:59)");
    if (!e) item.error("invalid end_time " + quote(end) + " (use HH:MM, 00:01 to 24:00)");
    if (s && e) {
      if (*s >= *e) {
        item.error("start_time must be before end_time (for a window across midnight, give two ranges)");
      } else {
        out.push_back({*s, *e});
      }
    }
  }
}

void decode_time_interval(const std::string& name, const Node& node, TimeIntervalConfig& out) {
  out.name = name;
  // A single mapping is accepted for a one-element list.
  std::vector<Node> items = node.is_map() ? std::vector<Node>{node} : node.items();
  if (node.is_sequence() && items.empty()) node.error("give at least one interval");
  for (const Node& item : items) {
    TimeIntervalSpec spec;
    MapDecoder map(item);
    if (!map.valid()) continue;
    if (auto n = map.get("times")) decode_times(*n, spec.times);
    if (auto n = map.get("weekdays")) decode_ranges(*n, kWeekdays, 0, 0, 6, false, "weekday", spec.weekdays);
    if (auto n = map.get("days_of_month")) {
      decode_ranges(*n, {}, 0, 1, 31, true, "day of month", spec.days_of_month);
    }
    if (auto n = map.get("months")) decode_ranges(*n, kMonths, 1, 1, 12, false, "month", spec.months);
    if (auto n = map.get("location"); n && !n->is_null() && decode(*n, spec.location)) {
      if (!time_zone_exists(spec.location)) {
        n->error("unknown time zone " + quote(spec.location) +
                 " (an IANA name like Europe/Berlin, UTC or Local)");
      }
    }
    map.finish();
    out.intervals.push_back(std::move(spec));
  }
}

// ---- inhibition and settings ----

void decode_inhibit_rule(const Node& node, InhibitRuleConfig& out) {
  MapDecoder map(node);
  if (!map.valid()) return;
  decode_matchers(map, "source_", out.source_matchers);
  decode_matchers(map, "target_", out.target_matchers);
  decode_label_names(map, "equal", out.equal);
  if (out.source_matchers.empty()) node.error("give source_match, source_match_re or source_matchers");
  if (out.target_matchers.empty()) node.error("give target_match, target_match_re or target_matchers");
  map.finish();
}

void decode_settings(const Node& node, AlertingConfig& out) {
  MapDecoder map(node);
  if (!map.valid()) return;
  decode_label_names(map, "group_by", out.group_by);
  if (auto n = map.get("group_wait"); n && !n->is_null() && decode(*n, out.group_wait)) {
    if (out.group_wait < Duration(0)) n->error("must not be negative");
  }
  at_least(map, "resolve_timeout", out.resolve_timeout, 1s);
  if (auto n = map.get("time_zone"); n && !n->is_null() && decode(*n, out.time_zone)) {
    if (!time_zone_exists(out.time_zone)) n->error("unknown time zone " + quote(out.time_zone));
  }
  if (auto n = map.get("flapping"); n && !n->is_null()) {
    MapDecoder f(*n);
    f.optional("enabled", out.flapping.enabled);
    at_least(f, "window", out.flapping.window, 1s);
    if (auto c = f.get("changes");
        c && !c->is_null() && decode(*c, out.flapping.changes) && out.flapping.changes < 2) {
      c->error("must be at least 2");
    }
    if (auto s = f.get("settle");
        s && !s->is_null() && decode(*s, out.flapping.settle) && out.flapping.settle < Duration(0)) {
      s->error("must not be negative");
    }
    f.finish();
  }
  if (auto n = map.get("outbox"); n && !n->is_null()) {
    MapDecoder o(*n);
    at_least(o, "expiry", out.outbox.expiry, 1s);
    if (auto m = o.get("max_entries"); m && !m->is_null()) {
      unsigned v = 0;
      if (decode(*m, v)) {
        if (v < 1) {
          m->error("must be at least 1");
        } else {
          out.outbox.max_entries = v;
        }
      }
    }
    at_least(o, "initial_backoff", out.outbox.initial_backoff, 10ms);
    if (auto c = o.get("concurrency"); c && !c->is_null() && decode(*c, out.outbox.concurrency) &&
                                       (out.outbox.concurrency < 1 || out.outbox.concurrency > 64)) {
      c->error("must be between 1 and 64");
    }
    at_least(o, "max_backoff", out.outbox.max_backoff, 10ms);
    if (out.outbox.max_backoff < out.outbox.initial_backoff) {
      n->error("max_backoff must not be below initial_backoff");
    }
    o.finish();
  }
  if (auto n = map.get("severities"); n && !n->is_null()) {
    std::vector<std::string> names;
    if (decode(*n, names)) {
      std::set<std::string> seen;
      for (const std::string& name : names) {
        if (name.empty() || !seen.insert(name).second) n->error("severities must be distinct and non-empty");
      }
      if (names.empty()) n->error("give at least one severity, the least severe first");
      out.severities = std::move(names);
    }
  }
  if (map.secret("api_token", out.api_token) && map.has("api_token_file") && out.api_token.empty()) {
    map.get("api_token_file")->error("the API token file is empty");
  }
  map.finish();
}

}  // namespace

std::optional<std::string> parse_label_matcher(std::string_view text, LabelMatcher& out) {
  std::string s = trim(text);
  std::size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
  std::string name = s.substr(0, i);
  if (name.empty()) return "expected a matcher like name=\"value\", got " + quote(s);
  if (!is_valid_label_name(name)) return "invalid label name " + quote(name);
  std::string rest = trim(std::string_view(s).substr(i));
  MatchType type;
  if (rest.starts_with("=~")) {
    type = MatchType::regex;
  } else if (rest.starts_with("!~")) {
    type = MatchType::not_regex;
  } else if (rest.starts_with("!=")) {
    type = MatchType::not_equal;
  } else if (rest.starts_with("=")) {
    type = MatchType::equal;
  } else {
    return "expected =, !=, =~ or !~ after " + quote(name) + " in " + quote(s);
  }
  rest = trim(std::string_view(rest).substr(type == MatchType::equal ? 1 : 2));
  std::string value;
  if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
    char q = rest.front();
    std::size_t j = 1;
    bool closed = false;
    for (; j < rest.size(); ++j) {
      char c = rest[j];
      if (c == '\\' && j + 1 < rest.size()) {
        char n = rest[++j];
        value += n == 'n' ? '\n' : n;
      } else if (c == q) {
        closed = true;
        break;
      } else {
        value += c;
      }
    }
    if (!closed) return "unterminated quote in " + quote(s);
    if (j + 1 != rest.size()) return "unexpected text after the quoted value in " + quote(s);
  } else {
    if (rest.find_first_of(" ,\"'") != std::string::npos) {
      return "quote values with spaces, commas or quotes: " + quote(s);
    }
    value = rest;
  }
  if (type == MatchType::regex || type == MatchType::not_regex) {
    try {
      store::Matcher check(type, name, value);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  }
  out = LabelMatcher{std::move(name), type, std::move(value)};
  return std::nullopt;
}

std::string to_string(const LabelMatcher& matcher) {
  return matcher.name + std::string(tocsin::to_string(matcher.type)) + quote(matcher.value);
}

std::string_view to_string(ReceiverType type) {
  switch (type) {
    case ReceiverType::log: return "log";
    case ReceiverType::webhook: return "webhook";
    case ReceiverType::alertmanager: return "alertmanager";
    case ReceiverType::pagerduty: return "pagerduty";
    case ReceiverType::slack: return "slack";
    case ReceiverType::exec: return "exec";
  }
  return "?";
}

int severity_rank(const std::vector<std::string>& severities, std::string_view value) {
  for (std::size_t i = 0; i < severities.size(); ++i) {
    if (severities[i] == value) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool time_zone_exists(const std::string& name) {
  if (name == "UTC" || name == "Local") return true;
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) return false;
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "TZif";
}

void decode_alerting(MapDecoder& top_level, AlertingConfig& out) {
  if (auto n = top_level.get("alerting"); n && !n->is_null()) decode_settings(*n, out);

  // Receivers first: policies and routes refer to them.
  if (auto n = top_level.get("receivers"); n && !n->is_null()) {
    for_each_entry(*n, [&](const std::string& name, const Node& child) {
      ReceiverConfig r;
      decode_receiver(name, child, r);
      out.receivers[name] = std::move(r);
    });
  }
  if (!out.receivers.contains("log")) {
    ReceiverConfig log;
    log.name = "log";
    out.receivers["log"] = std::move(log);
  }

  if (auto n = top_level.get("time_intervals"); n && !n->is_null()) {
    for_each_entry(*n, [&](const std::string& name, const Node& child) {
      TimeIntervalConfig t;
      decode_time_interval(name, child, t);
      out.time_intervals[name] = std::move(t);
    });
  }
  if (auto n = top_level.get("escalation_policies"); n && !n->is_null()) {
    for_each_entry(*n, [&](const std::string& name, const Node& child) {
      EscalationPolicy p;
      decode_policy(name, child, out, p);
      out.escalation_policies[name] = std::move(p);
    });
  }
  if (auto n = top_level.get("routes"); n && !n->is_null()) {
    for (const Node& item : n->items()) {
      RouteConfig r;
      decode_route(item, out, r);
      out.routes.push_back(std::move(r));
    }
  }
  if (auto n = top_level.get("inhibit_rules"); n && !n->is_null()) {
    for (const Node& item : n->items()) {
      InhibitRuleConfig r;
      decode_inhibit_rule(item, r);
      out.inhibit_rules.push_back(std::move(r));
    }
  }
}

}  // namespace tocsin::config
