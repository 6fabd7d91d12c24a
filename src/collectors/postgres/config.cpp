#include "collectors/postgres/config.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "collectors/postgres/families.hpp"
#include "collectors/postgres/queries.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::config {

using yaml::MapDecoder;
using yaml::Node;
using yaml::Secret;

namespace {

// The connection keywords libpq 15 (Debian 12's) accepts. The collector parses the dsn again with
// libpq itself, so a keyword added by a newer libpq is still caught there; this list gives the
// common mistakes a position in the config file.
constexpr std::string_view kLibpqKeywords[] = {"host",
                                               "hostaddr",
                                               "port",
                                               "dbname",
                                               "user",
                                               "password",
                                               "passfile",
                                               "channel_binding",
                                               "connect_timeout",
                                               "client_encoding",
                                               "options",
                                               "application_name",
                                               "fallback_application_name",
                                               "keepalives",
                                               "keepalives_idle",
                                               "keepalives_interval",
                                               "keepalives_count",
                                               "tcp_user_timeout",
                                               "replication",
                                               "gssencmode",
                                               "sslmode",
                                               "requiressl",
                                               "sslcompression",
                                               "sslcert",
                                               "sslkey",
                                               "sslpassword",
                                               "sslrootcert",
                                               "sslcrl",
                                               "sslcrldir",
                                               "sslsni",
                                               "requirepeer",
                                               "ssl_min_protocol_version",
                                               "ssl_max_protocol_version",
                                               "krbsrvname",
                                               "gsslib",
                                               "service",
                                               "target_session_attrs"};

bool known_keyword(std::string_view keyword) {
  return std::find(std::begin(kLibpqKeywords), std::end(kLibpqKeywords), keyword) != std::end(kLibpqKeywords);
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

const std::set<std::string, std::less<>> kSslmodes = {"disable", "allow",     "prefer",
                                                      "require", "verify-ca", "verify-full"};
constexpr const char* kSslmodeList = "disable, allow, prefer, require, verify-ca, verify-full";

// Checks the value of a dsn parameter libpq would refuse only when connecting, every cycle; returns
// an error message or "". Only the values of port and sslmode are checked (and quoted): never a
// password's.
std::string check_dsn_value(std::string_view key, std::string_view value) {
  if (key == "port") {
    // One port per host, comma-separated; an empty entry means the default.
    while (true) {
      const std::size_t comma = value.find(',');
      const std::string_view port = value.substr(0, comma);
      if (!port.empty()) {
        const bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
                              return std::isdigit(static_cast<unsigned char>(c));
                            });
        if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535)
          return "port " + quote(port) + " is not a number between 1 and 65535";
      }
      if (comma == std::string_view::npos) return "";
      value = value.substr(comma + 1);
    }
  }
  if (key == "sslmode" && !kSslmodes.contains(value)) {
    return "unknown sslmode " + quote(value) + " (" + kSslmodeList + ")";
  }
  return "";
}

// The ports of a URI's host list: "h1:5432,[::1]:5433,h3" gives "5432,5433,".
std::string uri_ports(std::string_view hosts) {
  std::string ports;
  bool first = true;
  while (true) {
    const std::size_t comma = hosts.find(',', hosts.starts_with('[') ? hosts.find(']') : 0);
    std::string_view host = hosts.substr(0, comma);
    if (!first) ports += ',';
    first = false;
    const std::size_t after = host.starts_with('[') ? host.find(']') : 0;
    if (after != std::string_view::npos) {
      if (const std::size_t colon = host.find(':', after); colon != std::string_view::npos)
        ports += host.substr(colon + 1);
    }
    if (comma == std::string_view::npos) return ports;
    hosts = hosts.substr(comma + 1);
  }
}

// Checks a dsn's syntax and keywords as libpq reads them; returns an error message or "". Sets
// `has_password` when the dsn carries a password (whose value is never quoted in a message).
std::string check_dsn(std::string_view dsn, bool& has_password) {
  has_password = false;
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
    std::string_view rest = dsn.substr(dsn.find("://") + 3);
    std::size_t query = rest.find('?');
    std::string_view authority = rest.substr(0, std::min(rest.find('/'), query));
    std::string_view hosts = authority;
    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
      has_password = authority.substr(0, at).find(':') != std::string_view::npos;
      hosts = authority.substr(at + 1);
    }
    if (std::string error = check_dsn_value("port", uri_ports(hosts)); !error.empty()) return error;
    if (query == std::string_view::npos) return "";
    std::string_view params = rest.substr(query + 1);
    while (!params.empty()) {
      std::size_t amp = params.find('&');
      std::string_view param = params.substr(0, amp);
      std::size_t eq = param.find('=');
      if (eq == std::string_view::npos) return "URI parameter " + quote(param) + " has no value (key=value)";
      std::string_view key = param.substr(0, eq);
      if (!known_keyword(key)) return "unknown connection parameter " + quote(key) + " in the URI";
      if (key == "password") has_password = true;
      if (std::string error = check_dsn_value(key, param.substr(eq + 1)); !error.empty())
        return error + " in the URI";
      params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    }
    return "";
  }
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < dsn.size() && std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
  };
  for (;;) {
    skip_space();
    if (i == dsn.size()) return "";
    std::size_t start = i;
    while (i < dsn.size() && dsn[i] != '=' && !std::isspace(static_cast<unsigned char>(dsn[i]))) ++i;
    std::string_view key = dsn.substr(start, i - start);
    skip_space();
    // After a password, a stray word may be the rest of a password with a space: never quote it.
    const std::string shown = has_password ? "at character " + std::to_string(start + 1) : quote(key);
    if (i == dsn.size() || dsn[i] != '=') {
      return "missing \"=\" after " + shown + " (a dsn is key=value pairs or a postgresql:// URI)";
    }
    if (!known_keyword(key)) return "unknown connection parameter " + shown;
    if (key == "password") has_password = true;
    ++i;
    skip_space();
    std::string value;  // unquoted and unescaped, as libpq reads it
    if (i < dsn.size() && dsn[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < dsn.size()) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) {
          value += dsn[i + 1];
          i += 2;
        } else if (dsn[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value += dsn[i++];
        }
      }
      if (!closed) return "unterminated quoted value of " + quote(key);
    } else {
      while (i < dsn.size() && !std::isspace(static_cast<unsigned char>(dsn[i]))) {
        if (dsn[i] == '\\' && i + 1 < dsn.size()) ++i;
        value += dsn[i++];
      }
    }
    if (std::string error = check_dsn_value(key, value); !error.empty()) return error;
  }
}

void decode_column(const Node& key_node, const Node& value, PostgresCustomColumn& out) {
  std::string usage;
  if (value.is_map()) {
    MapDecoder map(value);
    map.required("usage", usage);
    map.optional("help", out.help);
    map.finish();
  } else if (!decode(value, usage)) {
    return;
  }
  if (usage == "label") {
    out.usage = PostgresColumnUsage::label;
  } else if (usage == "counter") {
    out.usage = PostgresColumnUsage::counter;
  } else if (usage == "gauge") {
    out.usage = PostgresColumnUsage::gauge;
  } else if (!usage.empty()) {
    (value.is_map() ? value : key_node).error("unknown usage " + quote(usage) + " (label, counter or gauge)");
  }
}

void decode_columns(const Node& node, PostgresCustomQuery& out) {
  if (!node.is_map()) {
    node.error("expected a mapping of column names to label, counter or gauge, got " + node.kind());
    return;
  }
  for (const auto& entry : node.yaml()) {
    if (!entry.first.IsScalar()) {
      node.error("column names must be strings");
      continue;
    }
    PostgresCustomColumn column;
    column.name = entry.first.Scalar();
    Node value = node.child(entry.second, column.name);
    decode_column(value, value, column);
    if (column.usage == PostgresColumnUsage::label) {
      if (!is_valid_label_name(column.name) || column.name.starts_with("__")) {
        value.error("label column " + quote(column.name) + " is not a valid label name");
      } else if (column.name == "target") {
        value.error("label column \"target\" is taken: tocsin labels every sample with its instance name");
      }
    } else if (is_valid_metric_name(out.prefix) && !is_valid_metric_name(out.prefix + "_" + column.name)) {
      value.error("metric name " + quote(out.prefix + "_" + column.name) + " is not valid");
    } else if (collectors::postgres::is_builtin_family(out.prefix + "_" + column.name)) {
      value.error("metric name " + quote(out.prefix + "_" + column.name) +
                  " is one the postgres collector reports itself (choose another prefix)");
    }
    out.columns.push_back(std::move(column));
  }
}

}  // namespace

void decode(const Node& node, PostgresCustomQuery& out) {
  MapDecoder map(node);
  if (auto prefix = map.get("prefix"); !prefix || prefix->is_null()) {
    map.missing("prefix");
  } else if (decode(*prefix, out.prefix) && !is_valid_metric_name(out.prefix)) {
    prefix->error(quote(out.prefix) + " is not a valid metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  if (auto sql = map.get("sql"); !sql || sql->is_null()) {
    map.missing("sql");
  } else if (auto text = sql->as_raw_string()) {
    // Raw: `$1`-free SQL often holds `$$` (dollar quoting), which ${VAR} expansion would mangle.
    out.sql = *text;
    if (out.sql.find_first_not_of(" \t\r\n") == std::string::npos) sql->error("must not be empty");
  }
  if (auto columns = map.get("columns"); !columns || columns->is_null()) {
    map.missing("columns");
  } else {
    decode_columns(*columns, out);
    bool has_value = std::any_of(out.columns.begin(), out.columns.end(),
                                 [](const auto& c) { return c.usage != PostgresColumnUsage::label; });
    if (!has_value) columns->error("needs at least one counter or gauge column");
  }
  if (auto version = map.get("min_server_version"); version && !version->is_null()) {
    // 13 means 130000, as server_version_num counts; 90600 and 130002 are taken as they are.
    int v = 0;
    if (decode(*version, v)) {
      if (v <= 0) {
        version->error("must be positive, e.g. 13 or 130000");
      } else {
        out.min_server_version = v < 100 ? v * 10000 : v;
      }
    }
  }
  map.positive("interval", out.interval);
  map.positive("timeout", out.timeout);
  map.finish();
}

void decode(const Node& node, PostgresTargetConfig& out) {
  MapDecoder map(node);
  decode_common(map, out.common);
  decode_shared(map, out.common, out.shared);

  bool dsn_has_password = false;
  if (auto dsn = map.get("dsn"); dsn && !dsn->is_null() && decode(*dsn, out.dsn)) {
    // The dsn is never quoted back: it may hold a password.
    if (std::string error = check_dsn(out.dsn, dsn_has_password); !error.empty())
      dsn->error("invalid dsn: " + error);
  }
  map.optional("host", out.host);
  if (auto port = map.get("port");
      port && !port->is_null() && decode(*port, out.port) && (out.port < 1 || out.port > 65535)) {
    port->error("must be between 1 and 65535");
  }
  map.optional("user", out.user);
  map.optional("dbname", out.dbname);
  if (map.secret("password", out.password) && dsn_has_password && !out.password.empty()) {
    auto where = map.has("password") ? map.get("password") : map.get("password_file");
    where->error("the dsn already holds a password; give it in one place");
  }
  if (auto mode = map.get("sslmode"); mode && !mode->is_null() && decode(*mode, out.sslmode)) {
    if (!kSslmodes.contains(out.sslmode)) {
      mode->error("unknown sslmode " + quote(out.sslmode) + " (" + kSslmodeList + ")");
    }
  }
  for (auto [key, field] : {std::pair{"sslrootcert", &out.sslrootcert}, std::pair{"sslcert", &out.sslcert},
                            std::pair{"sslkey", &out.sslkey}}) {
    if (auto n = map.get(key); n && !n->is_null() && decode(*n, *field))
      *field = resolve_path(node.context(), *field);
  }
  if (auto n = map.get("connect_timeout"); n && !n->is_null() && decode(*n, out.connect_timeout) &&
                                           out.connect_timeout < std::chrono::seconds(1)) {
    n->error("must be at least 1s (libpq counts whole seconds)");
  }
  map.positive("statement_timeout", out.statement_timeout);
  map.positive("lock_timeout", out.lock_timeout);
  map.positive("reconnect_backoff", out.reconnect_backoff);
  map.positive("reconnect_backoff_max", out.reconnect_backoff_max);
  if (out.reconnect_backoff_max < out.reconnect_backoff) {
    if (auto n = map.get("reconnect_backoff_max")) {
      n->error("must not be less than reconnect_backoff (" + format_duration(out.reconnect_backoff) + ")");
    } else {
      out.reconnect_backoff_max = out.reconnect_backoff;
    }
  }
  map.optional("prepared_statements", out.prepared_statements);

  if (auto labels = map.get("activity_labels"); labels && !labels->is_null()) {
    out.activity_labels.clear();
    std::set<std::string> seen;
    for (const Node& item : labels->items()) {
      std::string label;
      if (!decode(item, label)) continue;
      if (std::find_if(std::begin(kPostgresActivityLabels), std::end(kPostgresActivityLabels),
                       [&](const char* known) { return label == known; }) ==
          std::end(kPostgresActivityLabels)) {
        std::string known;
        for (const char* k : kPostgresActivityLabels) known += (known.empty() ? "" : ", ") + std::string(k);
        item.error("unknown activity label " + quote(label) + " (" + known + ")");
      } else if (!seen.insert(label).second) {
        item.error("duplicate activity label " + quote(label));
      } else {
        out.activity_labels.push_back(std::move(label));
      }
    }
  }

  if (auto statements = map.get("statements"); statements && !statements->is_null()) {
    MapDecoder s(*statements);
    s.optional("enabled", out.statements.enabled);
    if (auto limit = s.get("limit"); limit && !limit->is_null() && decode(*limit, out.statements.limit) &&
                                     (out.statements.limit < 1 || out.statements.limit > 10000)) {
      limit->error("must be between 1 and 10000");
    }
    s.optional("query_text", out.statements.query_text);
    s.optional("compat_names", out.statements.compat_names);
    if (auto length = s.get("query_text_length"); length && !length->is_null() &&
                                                  decode(*length, out.statements.query_text_length) &&
                                                  out.statements.query_text_length < 1) {
      length->error("must be at least 1");
    }
    s.finish();
  }

  if (auto databases = map.get("databases");
      databases && !databases->is_null() && decode(*databases, out.databases)) {
    std::set<std::string> seen;
    for (const std::string& db : out.databases) {
      if (db.empty()) databases->error("database names must not be empty");
      if (!seen.insert(db).second) databases->error("database " + quote(db) + " is listed twice");
    }
    if (seen.contains("*") && out.databases.size() > 1) {
      databases->error("\"*\" means every database; list no others beside it");
    }
  }
  if (auto limit = map.get("tables_limit");
      limit && !limit->is_null() && decode(*limit, out.tables_limit) && out.tables_limit > 100000) {
    limit->error("must be at most 100000");
  }
  if (auto by = map.get("tables_by"); by && !by->is_null()) {
    std::string order;
    if (decode(*by, order)) {
      if (order == "size") {
        out.tables_by_size = true;
      } else if (order != "activity") {
        by->error("unknown order " + quote(order) + " (activity or size)");
      }
    }
  }
  if (auto intervals = map.get("query_intervals"); intervals && !intervals->is_null()) {
    MapDecoder q(*intervals);
    for (collectors::postgres::Query query : collectors::postgres::kAllQueries) {
      const std::string name(collectors::postgres::query_name(query));
      auto value = q.get(name);
      if (!value || value->is_null()) continue;
      Duration d{0};
      if (!decode(*value, d)) continue;
      if (query == collectors::postgres::Query::server && d.count() != 0) {
        value->error("the server query runs every cycle (it proves the connection alive)");
        continue;
      }
      out.query_intervals[name] = d;
    }
    q.finish();
  }

  if (auto queries = map.get("queries"); queries && !queries->is_null()) {
    decode(*queries, out.queries);
    std::set<std::string> prefixes;
    auto items = queries->is_sequence() ? queries->items() : std::vector<Node>{};
    // The cycle's deadline, when this block sets it (else the top-level interval, unknown here).
    const std::optional<Duration> cycle = out.common.timeout ? out.common.timeout : out.common.interval;
    for (std::size_t i = 0; i < out.queries.size() && i < items.size(); ++i) {
      const std::string& prefix = out.queries[i].prefix;
      if (!prefix.empty() && !prefixes.insert(prefix).second) {
        items[i]
            .child(items[i].yaml()["prefix"], "prefix")
            .error("duplicate query prefix " + quote(prefix) + " (metric names would clash)");
      }
      if (const auto& timeout = out.queries[i].timeout; timeout && cycle && *timeout >= *cycle) {
        items[i]
            .child(items[i].yaml()["timeout"], "timeout")
            .error("must be shorter than the collector's " +
                   std::string(out.common.timeout ? "timeout" : "interval") + " (" + format_duration(*cycle) +
                   "), the deadline of every query in the cycle");
      }
    }
  }
  map.finish();
}

}  // namespace tocsin::config

namespace tocsin::config {

// A custom query's timeout must leave room in the cycle. A block that sets its own timeout or
// interval is checked as it is decoded; one that inherits the top-level interval is checked here.
void check_inherited_query_timeouts(const yaml::Node& block, const PostgresTargetConfig& target,
                                    Duration interval) {
  if (target.common.timeout || target.common.interval) return;
  const YAML::Node queries = block.is_map() ? block.yaml()["queries"] : YAML::Node();
  if (!queries || !queries.IsSequence()) return;
  const std::vector<yaml::Node> items = block.child(queries, "queries").items();
  for (std::size_t j = 0; j < items.size() && j < target.queries.size(); ++j) {
    const auto& timeout = target.queries[j].timeout;
    if (!timeout || *timeout < interval) continue;
    items[j]
        .child(items[j].yaml()["timeout"], "timeout")
        .error("must be shorter than the collector's interval (" + format_duration(interval) +
               ", from the top-level interval), the deadline of every query in the cycle");
  }
}

void check_postgres_interval(const yaml::Node& block, const PostgresTargetConfig& target, Duration interval) {
  check_inherited_query_timeouts(block, target, interval);
  check_shared_lease(block, target.common, target.shared, interval);
}

}  // namespace tocsin::config
