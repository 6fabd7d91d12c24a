#include "collectors/postgres/session.hpp"

#include <libpq-fe.h>
#include <sys/socket.h>

#include <algorithm>
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

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

std::string_view to_string(QueryFailure failure) {
  switch (failure) {
    case QueryFailure::connection: return "connection";
    case QueryFailure::timeout: return "timeout";
    case QueryFailure::canceled: return "canceled";
    case QueryFailure::error: return "error";
  }
  return "error";
}

// The libpq connection and what a cancel request needs, which outlives the session when a request
// is in flight (PQcancel works on the PGcancel alone and is thread-safe).
class Session::Connection {
 public:
  Connection(const std::string& conninfo, std::shared_ptr<spdlog::logger> log, std::string describe)
      : conn_(PQconnectdb(conninfo.c_str())), log_(std::move(log)), describe_(std::move(describe)) {
    if (conn_ == nullptr) throw ConnectError("out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      // A constructor that throws runs no destructor: the failed connection is freed here.
      std::string message = one_line(PQerrorMessage(conn_));
      PQfinish(conn_);
      throw ConnectError(message);
    }
    // Server notices (a WARNING from a custom query, say) would go to stderr: the debug log instead.
    PQsetNoticeProcessor(conn_, &Connection::notice, this);
    cancel_ = PQgetCancel(conn_);
  }
  ~Connection() {
    if (cancel_ != nullptr) PQfreeCancel(cancel_);
    if (conn_ != nullptr) PQfinish(conn_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  PGconn* get() const { return conn_; }
  PGcancel* cancel_handle() const { return cancel_; }

 private:
  static void notice(void* self, const char* message) {
    auto* c = static_cast<Connection*>(self);
    try {
      c->log_->debug("postgres {}: {}", c->describe_, one_line(message));
    } catch (...) {  // never throw into libpq
    }
  }

  PGconn* conn_;
  PGcancel* cancel_ = nullptr;
  std::shared_ptr<spdlog::logger> log_;
  std::string describe_;
};

Session::Session(const SessionOptions& options, std::shared_ptr<spdlog::logger> log)
    : describe_(options.describe),
      prepared_statements_(options.prepared_statements),
      statement_timeout_(options.statement_timeout),
      lock_timeout_(options.lock_timeout),
      log_(std::move(log)) {
  try {
    connection_ = std::make_shared<Connection>(options.conninfo, log_, describe_);
  } catch (const ConnectError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConnectError(e.what());
  }
  PGconn* conn = connection_->get();
  server_version_ = PQserverVersion(conn);
  backend_pid_ = PQbackendPID(conn);
  if (const char* db = PQdb(conn); db != nullptr) dbname_ = db;
}

void Session::set_up() {
  // jit=off: JIT compilation costs more than these small catalog queries ever take. An idle
  // session timeout on the server would close the connection between cycles.
  std::string setup = "SET statement_timeout = " + milliseconds(statement_timeout_) +
                      "; SET lock_timeout = " + milliseconds(lock_timeout_) + "; SET jit = off";
  if (server_version_ >= 140000) setup += "; SET idle_session_timeout = 0";
  QueryResult set = query(setup);
  if (set.error) {
    usable_ = false;
    throw ConnectError("setting up the session: " + set.error->message);
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
  PGconn* conn = connection_->get();
  cancel_requested_ = false;
  Result result;
  if (prepared_statements_ && !name.empty()) {
    std::string key(name);
    if (std::find(prepared_.begin(), prepared_.end(), key) == prepared_.end()) {
      Result prepared(PQprepare(conn, key.c_str(), sql.c_str(), 0, nullptr));
      if (prepared && PQresultStatus(prepared.get()) == PGRES_COMMAND_OK) {
        prepared_.push_back(key);
      } else {
        result = std::move(prepared);  // reported below like any failed statement
      }
    }
    if (!result) result.reset(PQexecPrepared(conn, key.c_str(), 0, nullptr, nullptr, nullptr, 0));
  } else {
    result.reset(PQexec(conn, sql.c_str()));
  }
  const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
    const int columns = PQnfields(result.get());
    const int rows = PQntuples(result.get());
    out.table.columns.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) out.table.columns.emplace_back(PQfname(result.get(), c));
    out.table.rows.reserve(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      std::vector<Field> fields;
      fields.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (PQgetisnull(result.get(), r, c)) {
          fields.emplace_back(std::nullopt);
        } else {
          fields.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                          static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
        }
      }
      out.table.rows.push_back(std::move(fields));
    }
    return out;
  }
  QueryError error;
  const char* message = result ? PQresultErrorMessage(result.get()) : nullptr;
  error.message = one_line(message != nullptr && *message != '\0' ? message : PQerrorMessage(conn));
  if (error.message.empty()) error.message = "the statement failed without a message";
  if (const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr)
    error.sqlstate = state;
  if (PQstatus(conn) != CONNECTION_OK) {
    usable_ = false;
    error.kind = QueryFailure::connection;
  } else if (error.sqlstate == "57014") {
    // Both statement_timeout and a cancel request; which one is known here, whatever the server's
    // message language.
    error.kind = cancel_requested_ ? QueryFailure::canceled : QueryFailure::timeout;
  } else if (error.sqlstate == "55P03") {
    error.kind = QueryFailure::timeout;  // lock_timeout
  } else if (error.sqlstate.starts_with("08") || error.sqlstate == "57P01" || error.sqlstate == "57P02" ||
             error.sqlstate == "57P03") {
    usable_ = false;  // connection exception, admin shutdown, crash shutdown, cannot connect now
    error.kind = QueryFailure::connection;
  }
  out.error = std::move(error);
  return out;
}

bool Session::in_transaction() const {
  if (!usable_ || !connection_) return false;
  const PGTransactionStatusType status = PQtransactionStatus(connection_->get());
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

bool Session::cancel() noexcept {
  std::lock_guard lock(cancel_mutex_);
  if (!connection_ || connection_->cancel_handle() == nullptr || cancel_in_flight_->exchange(true))
    return false;
  cancel_requested_ = true;
  try {
    std::thread([connection = connection_, in_flight = cancel_in_flight_] {
      char error[256];
      PQcancel(connection->cancel_handle(), error, sizeof error);  // failure: abort() is the next step
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
  // The descriptor stays open (PQfinish closes it): no other thread can be handed the same number.
  if (const int fd = PQsocket(connection_->get()); fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

}  // namespace tocsin::collectors::postgres
