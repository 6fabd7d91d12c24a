#pragma once
// The adapter between the collector and libpq: one connection to one database, queries returning
// their rows as text, and cancellation from another thread. No failure leaves this file as anything
// but a value (QueryError) or a ConnectError, whose messages name the server and never hold the
// password.
//
// libpq rather than libpqxx 6.4 (Debian 12's): when a connection breaks during a statement, libpqxx
// 6.4 asks the dead connection for its client encoding before taking ownership of libpq's result,
// throws "Could not obtain client encoding: not connected." instead of libpq's message, and leaks the
// result, once per outage (ASan shows it with a ten-line program). The collector meets broken
// connections by design, so it talks to libpq, which libpqxx wraps anyway.

#include <spdlog/logger.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/postgres/table.hpp"
#include "tocsin/core/duration.hpp"

namespace tocsin::collectors::postgres {

struct SessionOptions {
  std::string conninfo;  // complete, password included: never logged
  std::string describe;  // "host:port/dbname" for messages
  Duration statement_timeout{5000};
  Duration lock_timeout{1000};
  bool prepared_statements = false;
};

class ConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class QueryFailure {
  connection,  // the connection is gone: the session is of no further use
  timeout,     // statement_timeout or lock_timeout on the server
  canceled,    // cancelled by cancel() (the cycle's deadline, interrupt(), a query's own timeout)
  error,       // any other SQL error (syntax, permission, missing relation, ...)
};
std::string_view to_string(QueryFailure failure);

struct QueryError {
  QueryFailure kind = QueryFailure::error;
  std::string message;   // the server's message, one line
  std::string sqlstate;  // e.g. 57014; empty when unknown
};

struct QueryResult {
  Table table;
  std::optional<QueryError> error;
  bool ok() const { return !error; }
};

// Not thread-safe, except cancel(), which any thread may call while another runs a query.
class Session {
 public:
  // Connects (bounded by the conninfo's connect_timeout); the session is named by application_name in
  // the conninfo. Throws ConnectError.
  Session(const SessionOptions& options, std::shared_ptr<spdlog::logger> log);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Sets statement_timeout, lock_timeout and jit=off on the session: one statement, which a server
  // that let the login through can leave unanswered, so the caller may cancel() or abort() it from
  // another thread as any query. Throws ConnectError.
  void set_up();

  int server_version() const { return server_version_; }  // server_version_num, e.g. 150010
  int backend_pid() const { return backend_pid_; }
  const std::string& describe() const { return describe_; }
  const std::string& dbname() const { return dbname_; }  // the database connected to
  // False once a query found the connection lost.
  bool usable() const { return usable_; }
  // True inside a transaction block, open or failed: custom SQL with a BEGIN and no COMMIT leaves the
  // session so, which freezes what the statistics views show it. Asks libpq, not the server.
  bool in_transaction() const;

  // Runs one statement with the simple query protocol (no server-side prepared statement), or, with
  // prepared_statements on and a non-empty `name`, as a prepared statement made once per session.
  QueryResult query(const std::string& sql, std::string_view name = {});

  // Asks the server to cancel the statement running on this session; harmless when none runs.
  // Thread-safe and never blocks: the request is a new connection to the server, which can hang as
  // long as the server does, so a helper thread sends it (at most one at a time per session).
  // Returns false when a request is still in flight or none could be started.
  bool cancel() noexcept;
  // Shuts the connection's socket down, so that a statement waiting on a server that answers
  // nothing (stopped, partitioned away) returns at once with the connection lost. Thread-safe.
  void abort() noexcept;

 private:
  class Connection;
  // Shared with a cancel request in flight, which may outlive the session.
  std::shared_ptr<Connection> connection_;
  std::string describe_;
  std::string dbname_;
  bool prepared_statements_;
  Duration statement_timeout_;
  Duration lock_timeout_;
  std::vector<std::string> prepared_;  // names prepared on this session
  int server_version_ = 0;
  int backend_pid_ = 0;
  bool usable_ = true;
  std::atomic<bool> cancel_requested_{false};
  std::shared_ptr<std::atomic<bool>> cancel_in_flight_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex cancel_mutex_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tocsin::collectors::postgres
