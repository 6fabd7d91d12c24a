#pragma once
// One blocking connection to a Redis (hiredis 0.14's synchronous API), with connect, read and write
// timeouts that never reach past the caller's deadline, pipelining (every command of a batch in one
// write, then one read per reply), and shutdown() from another thread to unblock a read at once.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "collectors/redis/config.hpp"
#include "collectors/redis/reply.hpp"

struct redisContext;  // hiredis

namespace tocsin::collectors::redis {

// The connection failed or was lost (and is now closed). The message names the cause, never a secret.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using SteadyTime = std::chrono::steady_clock::time_point;
using Command = std::vector<std::string>;

struct ConnectionOptions {
  config::RedisEndpoint endpoint;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};
  // Socket timeouts end this long after the deadline, so that the scheduler's own deadline (which
  // calls shutdown()) fires first and a miss is counted as one; without a scheduler the call still
  // returns shortly after the deadline.
  std::chrono::milliseconds deadline_grace{100};
};

// Not thread-safe except shutdown(): one collection uses it at a time.
class Connection {
 public:
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return context_ != nullptr; }
  // Opens the socket (TCP with keepalive, or unix). Throws ConnectionError.
  void connect(SteadyTime deadline);
  // Sends `commands` in one write and reads one reply per command, in order; error replies are
  // replies. Throws ConnectionError (and closes) on I/O errors, timeouts, protocol errors, shutdown().
  std::vector<Reply> pipeline(const std::vector<Command>& commands, SteadyTime deadline);
  void close();

  // Thread-safe: shuts the socket down (if one is open) so a blocked read or write returns now.
  void shutdown();

  // Totals since construction, for cost figures.
  std::uint64_t round_trips() const { return round_trips_; }
  std::uint64_t commands_sent() const { return commands_sent_; }

 private:
  void set_timeouts(SteadyTime deadline);
  [[noreturn]] void fail(const std::string& doing);

  ConnectionOptions options_;
  redisContext* context_ = nullptr;
  std::mutex fd_mutex_;
  int fd_ = -1;             // guarded by fd_mutex_; the socket shutdown() may act on
  bool shut_down_ = false;  // guarded by fd_mutex_
  std::chrono::milliseconds last_read_timeout_{-1};
  std::chrono::milliseconds last_write_timeout_{-1};
  std::uint64_t round_trips_ = 0;
  std::uint64_t commands_sent_ = 0;
};

}  // namespace tocsin::collectors::redis
