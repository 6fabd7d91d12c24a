#include "collectors/postgres/session.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <thread>

namespace tocsin::collectors::postgres {

namespace {

// libpq messages end in a newline and may span lines ("FATAL: ...\nDETAIL: ..."); a log line or a
// CollectError wants one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string milliseconds(Duration d) { return std::to_string(std::max<std::int64_t>(1, d.count())); }

}  // namespace

std::string_view to_string(QueryFailure failure) {
  switch (failure) {
    case QueryFailure::connection:
      return "connection";
    case QueryFailure::timeout:
      return "timeout";
    case QueryFailure::canceled:
      return "canceled";
    case QueryFailure::error:
      return "error";
  }
  return "error";
}

// Server notices (a WARNING from a custom query, say) would go to stderr by libpqxx's default; they
// go to the debug log instead.
class Session::Connection {
 public:
  Connection(const std::string& conninfo, std::shared_ptr<spdlog::logger> log, const std::string& describe)
      : connection(conninfo), notices(connection, std::move(log), describe) {}

  class Notices final : public pqxx::errorhandler {
   public:
    Notices(pqxx::connection_base& c, std::shared_ptr<spdlog::logger> log, std::string describe)
        : pqxx::errorhandler(c), log_(std::move(log)), describe_(std::move(describe)) {}
    bool operator()(const char message[]) noexcept override {
      try {
        log_->debug("postgres {}: {}", describe_, one_line(message));
      } catch (...) {  // a notice must never throw into libpq's callback
      }
      return false;
    }

   private:
    std::shared_ptr<spdlog::logger> log_;
    std::string describe_;
  };

  pqxx::connection connection;
  Notices notices;  // declared after the connection: unregistered before it closes
};

Session::Session(const SessionOptions& options, std::shared_ptr<spdlog::logger> log)
    : describe_(options.describe), prepared_statements_(options.prepared_statements), log_(std::move(log)) {
  try {
    connection_ = std::make_shared<Connection>(options.conninfo, log_, describe_);
    server_version_ = connection_->connection.server_version();
    backend_pid_ = connection_->connection.backendpid();
    if (const char* db = connection_->connection.dbname(); db != nullptr) dbname_ = db;
    // jit=off: JIT compilation costs more than these small catalog queries ever take. An idle
    // session timeout on the server would close the connection between cycles.
    std::string setup = "SET statement_timeout = " + milliseconds(options.statement_timeout) +
                        "; SET lock_timeout = " + milliseconds(options.lock_timeout) + "; SET jit = off";
    if (server_version_ >= 140000) setup += "; SET idle_session_timeout = 0";
    pqxx::nontransaction tx(connection_->connection);
    tx.exec(setup);
  } catch (const std::exception& e) {
    connection_.reset();
    throw ConnectError(one_line(e.what()));
  }
}

Session::~Session() {
  std::lock_guard lock(cancel_mutex_);
  connection_.reset();
}

QueryResult Session::query(const std::string& sql, std::string_view name) {
  QueryResult out;
  if (!usable_ || !connection_) {
    out.error = QueryError{QueryFailure::connection, "connection to " + describe_ + " is closed", ""};
    return out;
  }
  cancel_requested_ = false;
  try {
    pqxx::result result;
    {
      pqxx::nontransaction tx(connection_->connection);
      if (prepared_statements_ && !name.empty()) {
        std::string key(name);
        if (std::find(prepared_.begin(), prepared_.end(), key) == prepared_.end()) {
          connection_->connection.prepare(key, sql);
          prepared_.push_back(key);
        }
        result = tx.exec_prepared(key);
      } else {
        result = tx.exec(sql);
      }
    }
    const auto columns = static_cast<std::size_t>(result.columns());
    out.table.columns.reserve(columns);
    for (std::size_t c = 0; c < columns; ++c) {
      out.table.columns.emplace_back(result.column_name(static_cast<pqxx::row::size_type>(c)));
    }
    out.table.rows.reserve(result.size());
    for (const auto& row : result) {
      std::vector<Field> fields;
      fields.reserve(columns);
      for (const auto& field : row) {
        if (field.is_null()) {
          fields.emplace_back(std::nullopt);
        } else {
          fields.emplace_back(std::string(field.c_str(), field.size()));
        }
      }
      out.table.rows.push_back(std::move(fields));
    }
  } catch (const pqxx::broken_connection& e) {
    usable_ = false;
    out.error = QueryError{QueryFailure::connection, one_line(e.what()), ""};
  } catch (const pqxx::sql_error& e) {
    QueryError error{QueryFailure::error, one_line(e.what()), e.sqlstate()};
    // 57014 is both statement_timeout and a cancel request; which one is known here, whatever the
    // server's message language.
    if (error.sqlstate == "57014") {
      error.kind = cancel_requested_ ? QueryFailure::canceled : QueryFailure::timeout;
    } else if (error.sqlstate == "55P03") {
      error.kind = QueryFailure::timeout;  // lock_timeout
    } else if (error.sqlstate.starts_with("08") || error.sqlstate == "57P01" || error.sqlstate == "57P02" ||
               error.sqlstate == "57P03") {
      usable_ = false;  // connection exception, admin shutdown, crash shutdown, cannot connect now
      error.kind = QueryFailure::connection;
    }
    if (!connection_->connection.is_open()) {
      usable_ = false;
      error.kind = QueryFailure::connection;
    }
    out.error = std::move(error);
  } catch (const std::exception& e) {
    out.error = QueryError{QueryFailure::error, one_line(e.what()), ""};
    if (!connection_->connection.is_open()) {
      usable_ = false;
      out.error->kind = QueryFailure::connection;
    }
  }
  return out;
}

bool Session::cancel() noexcept {
  std::lock_guard lock(cancel_mutex_);
  if (!connection_ || cancel_in_flight_->exchange(true)) return false;
  cancel_requested_ = true;
  try {
    std::thread([connection = connection_, in_flight = cancel_in_flight_] {
      try {
        connection->connection.cancel_query();
      } catch (...) {  // no server to send it to: abort() is the next step
      }
      *in_flight = false;
    }).detach();
    return true;
  } catch (...) {
    *cancel_in_flight_ = false;
    return false;
  }
}

void Session::abort() noexcept {
  std::lock_guard lock(cancel_mutex_);
  if (!connection_) return;
  cancel_requested_ = true;
  // The descriptor stays open (libpq closes it): no other thread can be handed the same number.
  if (const int fd = connection_->connection.sock(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace tocsin::collectors::postgres
