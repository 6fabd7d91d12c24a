#include "collectors/postgres/conninfo.hpp"

#include <libpq-fe.h>

#include <memory>
#include <stdexcept>

namespace tocsin::collectors::postgres {

namespace {

struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

std::string seconds(Duration d) {
  const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
  return std::to_string(s < 1 ? 1 : s);
}

}  // namespace

ConnParams connection_parameters(const config::PostgresTargetConfig& config) {
  ConnParams params;
  if (!config.dsn.empty()) {
    char* error = nullptr;
    Options options(PQconninfoParse(config.dsn.c_str(), &error));
    if (!options) {
      std::string message = error != nullptr ? error : "out of memory";
      if (error != nullptr) PQfreemem(error);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      // libpq's message may quote a piece of the dsn: only shown when the dsn holds no password.
      const bool secret =
          config.dsn.find("password") != std::string::npos || config.dsn.find('@') != std::string::npos;
      throw std::invalid_argument("postgres collector " + config.common.name +
                                  ": libpq cannot parse the dsn" + (secret ? "" : ": " + message));
    }
    for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
      if (o->val != nullptr) params[o->keyword] = o->val;
    }
  }
  auto set = [&](const char* key, const std::string& value) {
    if (!value.empty()) params[key] = value;
  };
  set("host", config.host);
  if (config.port != 0) params["port"] = std::to_string(config.port);
  set("user", config.user);
  set("dbname", config.dbname);
  set("password", config.password.reveal());
  set("sslmode", config.sslmode);
  set("sslrootcert", config.sslrootcert);
  set("sslcert", config.sslcert);
  set("sslkey", config.sslkey);
  // Defaults of tocsin's own, below anything the dsn says. application_name makes the collector's
  // sessions recognisable in pg_stat_activity (PGAPPNAME is not consulted for it).
  params.try_emplace("application_name", "tocsin");
  // Label values must be UTF-8: the server converts names and texts from the database's encoding
  // (LATIN1, say) when the session asks for UTF8. Without it the client encoding defaults to the
  // database's, and a table named café would arrive as the bytes "caf\xe9". A SQL_ASCII database
  // is not converted (its bytes have no known encoding): the store replaces invalid UTF-8 there.
  params.try_emplace("client_encoding", "UTF8");
  params.try_emplace("connect_timeout", seconds(config.connect_timeout));
  // A server that vanishes from the network (no RST) would otherwise hold a blocked read until the
  // kernel's default keepalive, two hours later.
  params.try_emplace("keepalives", "1");
  params.try_emplace("keepalives_idle", "30");
  params.try_emplace("keepalives_interval", "10");
  params.try_emplace("keepalives_count", "3");
  return params;
}

std::string to_conninfo(const ConnParams& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += ' ';
    out += key;
    out += "='";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    out += '\'';
  }
  return out;
}

std::string describe(const ConnParams& params) {
  std::map<std::string, std::string> defaults;
  Options options(PQconndefaults());
  if (options) {
    for (PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
      if (o->val != nullptr) defaults[o->keyword] = o->val;
    }
  }
  auto value = [&](const std::string& key) -> std::string {
    if (auto it = params.find(key); it != params.end() && !it->second.empty()) return it->second;
    if (auto it = defaults.find(key); it != defaults.end()) return it->second;
    return {};
  };
  std::string host = value("host");
  if (host.empty()) host = value("hostaddr");
  if (host.empty()) host = "local socket";
  std::string port = value("port");
  if (port.empty()) port = "5432";
  std::string dbname = value("dbname");
  if (dbname.empty()) dbname = value("user");
  return host + ":" + port + "/" + dbname;
}

}  // namespace tocsin::collectors::postgres
