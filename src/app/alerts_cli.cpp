#include "app/alerts_cli.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "tocsin/alerting/http_client.hpp"
#include "tocsin/alerting/time_format.hpp"
#include "tocsin/config/config.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/core/json_text.hpp"

namespace tocsin::app {

namespace {

using nlohmann::json;

const std::map<std::string, std::string> kHelp = {
    {"alerts", R"(Usage: tocsin alerts [--state firing|pending|resolved|all] [--filter MATCHER]... [--json]
                     [--url URL] [--config FILE]

Lists the daemon's alerts, most severe first: id, severity, name, where, since when, the escalation
step reached, and whether it is acknowledged, silenced or inhibited. Firing and pending alerts unless
--state says otherwise.

      --filter MATCHER  only alerts matching, e.g. --filter 'instance=~"db-.*"' (repeatable)
      --json            the API's JSON instead of the table
)"},
    {"ack", R"(Usage: tocsin ack ID --by NAME [--comment TEXT] [--expires DURATION] [--undo]
                [--url URL] [--config FILE] [--token-file FILE]

Acknowledges a firing alert: escalation stops and the receivers already paged are told. A more
severe tier of the same alert pages again. ID is the alert's id from `tocsin alerts` (a unique
prefix is enough).

      --by NAME         who acknowledges (required)
      --comment TEXT    shown with the alert and in the acknowledgement notification
      --expires D       re-arm escalation after D (e.g. 1h) if the alert still fires
      --undo            withdraw the acknowledgement
)"},
    {"silence",
     R"(Usage: tocsin silence add MATCHER... (--duration D | --until TIME) --by NAME [--comment TEXT]
       tocsin silence list [--all]
       tocsin silence expire ID
       each with [--url URL] [--config FILE] [--token-file FILE]

Silences suppress notifications (not evaluation) of alerts matching every MATCHER, written as
name="value", name!="value", name=~"regex" or name!~"regex". `list` shows active and pending
silences (--all: expired ones too); `expire` ends one now.

      --duration D      how long, e.g. 2h (from now)
      --until TIME      until an RFC 3339 time, e.g. 2024-03-04T18:00:00Z
      --by NAME         who silences (required)
)"},
};

const std::string kCommonHelp = R"(
The daemon is found at --url, else $TOCSIN_URL, else the listen address in the config (--config,
default /etc/tocsin/tocsin.yaml), else http://127.0.0.1:9850. Changes need the API token: --token-file,
else $TOCSIN_API_TOKEN, else the config's alerting.api_token(_file); the token also passes a daemon's
basic auth (web.config_file's basic_auth_users). Over https:// the system's CAs are trusted unless:

      --tls.ca-file FILE          trust the CA certificates in FILE (PEM) instead, as tls_config.ca_file
      --tls.insecure-skip-verify  accept any server certificate (tls_config.insecure_skip_verify)
)";

// Where the daemon is and the token, from options, the environment and the config.
struct Target {
  std::string base_url;
  std::string token;
  net::TlsConfig tls;
};

std::optional<Target> resolve_target(const ParsedArgs& args, std::ostream& err) {
  Target t;
  std::optional<config::Config> config;
  std::string path = args.value("config").value_or(config::kDefaultConfigPath);
  bool explicit_config = args.value("config").has_value();
  std::error_code exists_error;
  bool default_exists = std::filesystem::exists(path, exists_error);
  // Why the default config was not used, said when falling back matters (the daemon's address, the token).
  std::string unused_reason = default_exists ? ""
                              : exists_error ? exists_error.message()
                                             : "it does not exist";
  if (explicit_config || default_exists) {
    auto loaded = config::load_config(path);
    if (auto* d = std::get_if<yaml::Diagnostics>(&loaded)) {
      if (explicit_config) {
        err << d->to_string();
        return std::nullopt;
      }
      std::string why = d->to_string();
      while (!why.empty() && why.back() == '\n') why.pop_back();
      err << "tocsin: cannot load " << path << ", going on without it:\n" << why << "\n";
    } else {
      config = std::get<config::Config>(std::move(loaded));
    }
  }
  if (auto url = args.value("url")) {
    t.base_url = *url;
  } else if (const char* env = std::getenv("TOCSIN_URL"); env != nullptr && *env != '\0') {
    t.base_url = env;
  } else if (config) {
    config::ListenAddress listen = config->listen;
    if (listen.host == "0.0.0.0") listen.host = "127.0.0.1";
    if (listen.host == "::") listen.host = "::1";
    t.base_url = "http://" + listen.to_string();
  } else {
    t.base_url = "http://127.0.0.1:9850";
    if (!unused_reason.empty()) {
      err << "tocsin: not using " << path << " (" << unused_reason << "); trying " << t.base_url
          << " (give --url or set TOCSIN_URL)\n";
    }
  }
  while (!t.base_url.empty() && t.base_url.back() == '/') t.base_url.pop_back();
  if (!t.base_url.starts_with("http://") && !t.base_url.starts_with("https://"))
    t.base_url = "http://" + t.base_url;
  t.tls.ca_file = args.value_or("tls.ca-file", "");
  t.tls.insecure_skip_verify = args.has("tls.insecure-skip-verify");
  if (!t.tls.ca_file.empty() && !std::filesystem::exists(t.tls.ca_file, exists_error)) {
    err << "tocsin: cannot read the CA file " << t.tls.ca_file << " (--tls.ca-file)\n";
    return std::nullopt;
  }
  if (auto file = args.value("token-file")) {
    std::ifstream in(*file);
    if (!in) {
      err << "cannot read the token file " << *file << "\n";
      return std::nullopt;
    }
    std::getline(in, t.token);
    while (!t.token.empty() && (t.token.back() == '\r' || t.token.back() == ' ')) t.token.pop_back();
  } else if (const char* env = std::getenv("TOCSIN_API_TOKEN"); env != nullptr) {
    t.token = env;
  } else if (config) {
    t.token = config->alerting.api_token.reveal();
  }
  return t;
}

// Calls the API; prints why on failure. Returns the "data" member.
std::optional<json> call(const Target& t, const std::string& method, const std::string& path,
                         const json& body, std::ostream& err) {
  alerting::HttpRequest req;
  req.method = method;
  req.url = t.base_url + path;
  if (!body.is_null()) req.body = json_text(body);
  if (!t.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + t.token);
  alerting::HttpClient client(t.tls);
  alerting::HttpResponse r = client.send(req);
  if (!r.error.empty()) {
    err << "cannot reach tocsin at " << t.base_url << ": " << r.error << "\n";
    return std::nullopt;
  }
  json j;
  try {
    j = parse_json_bounded(r.body);
  } catch (const json::exception&) {
    err << "unexpected answer from " << req.url << " (HTTP " << r.status << "): " << r.body.substr(0, 200)
        << "\n";
    return std::nullopt;
  }
  if (r.status != 200 || j.value("status", "") != "success") {
    err << "tocsin: " << j.value("error", "HTTP " + std::to_string(r.status)) << "\n";
    if (r.status == 401 || r.status == 403) {
      err << "(changes need the API token: --token-file, $TOCSIN_API_TOKEN or the config's "
             "alerting.api_token_file)\n";
    }
    return std::nullopt;
  }
  return j["data"];
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string age(const std::string& rfc3339, Timestamp now) {
  auto t = alerting::parse_rfc3339(rfc3339);
  if (!t) return "";
  Timestamp d = std::max<Timestamp>(0, now - *t);
  d = d >= 60'000 ? d / 60'000 * 60'000 : d / 1000 * 1000;
  return format_duration(Duration(d));
}

std::string where_of(const json& labels) {
  for (const char* key : {"instance", "target", "job", "host"}) {
    if (labels.contains(key)) return labels[key].get<std::string>();
  }
  return "-";
}

void print_table(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

int cmd_alerts(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  auto target = resolve_target(args, err);
  if (!target) return kExitBadInput;
  std::string query;
  for (const auto& f : args.values("filter")) {
    config::LabelMatcher m;
    if (auto e = config::parse_label_matcher(f, m)) {
      err << "tocsin alerts: --filter: " << *e << "\n";
      return kExitBadInput;
    }
    query += (query.empty() ? "?" : "&") + std::string("filter=") + url_encode(f);
  }
  std::string state = args.value("state").value_or("");
  if (!state.empty() && state != "all" && state != "firing" && state != "pending" && state != "resolved") {
    err << "tocsin alerts: --state must be firing, pending, resolved or all\n";
    return kExitBadInput;
  }
  if (!state.empty() && state != "all") query += (query.empty() ? "?" : "&") + std::string("state=") + state;
  auto data = call(*target, "GET", "/api/v1/alerts" + query, nullptr, err);
  if (!data) return kExitFailure;
  if (args.has("json")) {
    out << data->dump(2) << "\n";
    return kExitOk;
  }
  const json& alerts = (*data)["alerts"];
  // Which daemon answered (its `labels:`), so an engineer with several hosts' tunnels open knows.
  std::string identity;
  if (auto labels = data->find("externalLabels"); labels != data->end() && labels->is_object()) {
    for (const auto& [name, value] : labels->items()) {
      if (value.is_string())
        identity += (identity.empty() ? "" : " ") + name + "=" + value.get<std::string>();
    }
  }
  if (alerts.empty()) {
    out << "No alerts" << (identity.empty() ? "" : " on " + identity) << ".\n";
    return kExitOk;
  }
  if (!identity.empty()) out << identity << "\n";
  Timestamp now = SystemClock().now_ms();
  std::vector<std::vector<std::string>> rows = {
      {"ID", "SEVERITY", "ALERT", "WHERE", "SINCE", "STEP", "STATE", "SUMMARY"}};
  for (const json& a : alerts) {
    std::string st = a["state"];
    std::string since = st == "pending" ? a["activeAt"].get<std::string>() : a["firedAt"].get<std::string>();
    const json& esc = a["escalation"];
    std::string step = esc["step"].get<int>() == 0 ? "-"
                                                   : std::to_string(esc["step"].get<int>()) + "/" +
                                                         std::to_string(esc["steps"].get<int>());
    if (esc["step"].get<int>() > 0 && !esc["receivers"].empty()) {
      std::string who;
      for (const auto& r : esc["receivers"]) who += (who.empty() ? " " : ",") + r.get<std::string>();
      step += who;
    }
    std::string status = st;
    if (!a["acknowledged"].is_null()) status = "acked by " + a["acknowledged"]["by"].get<std::string>();
    if (!a["silencedBy"].empty()) status += ", silenced";
    if (!a["inhibitedBy"].empty()) status += ", inhibited";
    if (!a["mutedBy"].is_null()) status += ", muted";
    if (a["flapping"].get<bool>()) status += ", flapping";
    std::string summary = a["annotations"].value("summary", "");
    if (summary.size() > 60) summary = summary.substr(0, 57) + "...";
    rows.push_back(
        {a["id"], a["severity"].get<std::string>().empty() ? "-" : a["severity"].get<std::string>(),
         a["labels"].value("alertname", ""), where_of(a["labels"]), age(since, now), step, status, summary});
  }
  print_table(rows, out);
  return kExitOk;
}

// A unique id prefix becomes the full id.
std::optional<std::string> resolve_id(const Target& t, const std::string& prefix, std::ostream& err) {
  if (prefix.size() == 16) return prefix;
  auto data = call(t, "GET", "/api/v1/alerts?state=firing", nullptr, err);
  if (!data) return std::nullopt;
  std::vector<std::string> matches;
  for (const json& a : (*data)["alerts"]) {
    std::string id = a["id"];
    if (id.starts_with(prefix)) matches.push_back(id);
  }
  if (matches.size() == 1) return matches[0];
  err << "tocsin: "
      << (matches.empty() ? "no firing alert with an id starting with "
                          : "more than one alert's id starts with ")
      << prefix << "\n";
  return std::nullopt;
}

int cmd_ack(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  if (args.arguments().size() != 1) {
    err << "tocsin ack: give one alert ID\n\n" << kHelp.at("ack");
    return kExitBadInput;
  }
  bool undo = args.has("undo");
  if (!undo && !args.value("by")) {
    err << "tocsin ack: say who you are with --by NAME\n";
    return kExitBadInput;
  }
  if (auto e = args.value("expires"); e && (!parse_duration(*e) || parse_duration(*e)->count() <= 0)) {
    err << "tocsin ack: --expires: invalid duration \"" << *e << "\" (e.g. 30m, 2h)\n";
    return kExitBadInput;
  }
  auto target = resolve_target(args, err);
  if (!target) return kExitBadInput;
  auto id = resolve_id(*target, args.arguments()[0], err);
  if (!id) return kExitFailure;
  json body = nullptr;
  if (!undo) {
    body = {{"by", *args.value("by")}, {"comment", args.value("comment").value_or("")}};
    if (auto e = args.value("expires")) body["expires"] = *e;
  }
  auto data = call(*target, undo ? "DELETE" : "POST", "/api/v1/alerts/" + *id + "/ack", body, err);
  if (!data) return kExitFailure;
  std::string name = (*data)["labels"].value("alertname", "");
  if (undo) {
    out << "Acknowledgement of " << name << " (" << *id << ") withdrawn; escalation resumes.\n";
  } else {
    out << "Acknowledged " << name << " on " << where_of((*data)["labels"]) << " (" << *id << ") as "
        << *args.value("by");
    if (auto e = args.value("expires")) out << " for " << *e;
    out << ".\n";
  }
  return kExitOk;
}

int cmd_silence(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  if (args.arguments().empty()) {
    err << "tocsin silence: say add, list or expire\n\n" << kHelp.at("silence");
    return kExitBadInput;
  }
  const std::string& sub = args.arguments()[0];
  if (sub == "add") {
    std::vector<std::string> matchers(args.arguments().begin() + 1, args.arguments().end());
    if (matchers.empty()) {
      err << "tocsin silence add: give at least one matcher, e.g. 'alertname=\"DiskFull\"'\n";
      return kExitBadInput;
    }
    for (const auto& m : matchers) {
      config::LabelMatcher parsed;
      if (auto e = config::parse_label_matcher(m, parsed)) {
        err << "tocsin silence add: " << *e << "\n";
        return kExitBadInput;
      }
    }
    if (!args.value("by")) {
      err << "tocsin silence add: say who you are with --by NAME\n";
      return kExitBadInput;
    }
    if (args.value("duration").has_value() == args.value("until").has_value()) {
      err << "tocsin silence add: give either --duration (e.g. 2h) or --until (RFC 3339)\n";
      return kExitBadInput;
    }
    json body = {{"matchers", matchers},
                 {"createdBy", *args.value("by")},
                 {"comment", args.value("comment").value_or("")}};
    if (auto d = args.value("duration")) body["duration"] = *d;
    if (auto u = args.value("until")) body["endsAt"] = *u;
    auto target = resolve_target(args, err);
    if (!target) return kExitBadInput;
    auto data = call(*target, "POST", "/api/v1/silences", body, err);
    if (!data) return kExitFailure;
    out << "Silence " << (*data)["silenceID"].get<std::string>() << " active until "
        << (*data)["endsAt"].get<std::string>() << "\n";
    return kExitOk;
  }
  if (sub == "list") {
    auto target = resolve_target(args, err);
    if (!target) return kExitBadInput;
    auto data = call(*target, "GET", std::string("/api/v1/silences") + (args.has("all") ? "?all=true" : ""),
                     nullptr, err);
    if (!data) return kExitFailure;
    if (data->empty()) {
      out << "No silences.\n";
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows = {{"ID", "STATE", "ENDS", "BY", "MATCHERS", "COMMENT"}};
    for (const json& s : *data) {
      std::string matchers;
      for (const auto& m : s["matchersText"])
        matchers += (matchers.empty() ? "" : " ") + m.get<std::string>();
      rows.push_back({s["id"], s["status"]["state"], s["endsAt"], s["createdBy"], matchers, s["comment"]});
    }
    print_table(rows, out);
    return kExitOk;
  }
  if (sub == "expire") {
    if (args.arguments().size() != 2) {
      err << "tocsin silence expire: give one silence ID\n";
      return kExitBadInput;
    }
    auto target = resolve_target(args, err);
    if (!target) return kExitBadInput;
    const std::string& id = args.arguments()[1];
    if (!call(*target, "DELETE", "/api/v1/silences/" + id, nullptr, err)) return kExitFailure;
    out << "Silence " << id << " expired.\n";
    return kExitOk;
  }
  err << "tocsin silence: unknown subcommand \"" << sub << "\" (add, list or expire)\n";
  return kExitBadInput;
}

}  // namespace

std::vector<Command> alerts_commands() {
  const std::vector<OptionSpec> target = {
      {"url"}, {"config", 'c'}, {"token-file"}, {"tls.ca-file"}, {"tls.insecure-skip-verify", '\0', false}};
  auto with_target = [&target](std::vector<OptionSpec> options) {
    options.insert(options.begin(), target.begin(), target.end());
    return options;
  };
  return {
      {"alerts", with_target({{"state"}, {"filter"}, {"json", '\0', false}}), false, kHelp.at("alerts"),
       kCommonHelp, cmd_alerts},
      {"ack", with_target({{"by"}, {"comment"}, {"expires"}, {"undo", '\0', false}}), true, kHelp.at("ack"),
       kCommonHelp, cmd_ack},
      {"silence", with_target({{"by"}, {"comment"}, {"duration"}, {"until"}, {"all", '\0', false}}), true,
       kHelp.at("silence"), kCommonHelp, cmd_silence},
  };
}

}  // namespace tocsin::app
