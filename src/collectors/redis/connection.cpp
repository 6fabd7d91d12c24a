#include "collectors/redis/connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace tocsin::collectors::redis {

namespace {

using std::chrono::milliseconds;

timeval to_timeval(milliseconds d) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

// What is left of `limit` before the deadline (plus grace); zero or less means none.
milliseconds bounded(milliseconds limit, SteadyTime deadline, milliseconds grace) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline + grace - std::chrono::steady_clock::now());
  return std::min(limit, left);
}

// The command's name for messages: with its subcommand, never with keys or values.
std::string command_name(const Command& command) {
  std::string name = command.front();
  static constexpr std::string_view with_subcommand[] = {"CONFIG", "SLOWLOG", "LATENCY",
                                                         "CLIENT", "MEMORY",  "INFO"};
  if (command.size() > 1) {
    for (std::string_view s : with_subcommand) {
      if (name == s) return name + " " + command[1];
    }
  }
  return name;
}

std::string format_ms(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

Connection::~Connection() { close(); }

void Connection::connect(SteadyTime deadline) {
  close();
  const milliseconds timeout = bounded(options_.connect_timeout, deadline, options_.deadline_grace);
  const std::string where = options_.endpoint.to_string();
  if (timeout.count() <= 0) throw ConnectionError("no time left before the deadline to connect to " + where);
  const timeval tv = to_timeval(timeout);
  redisContext* c = options_.endpoint.unix_socket.empty()
                        ? redisConnectWithTimeout(options_.endpoint.host.c_str(), options_.endpoint.port, tv)
                        : redisConnectUnixWithTimeout(options_.endpoint.unix_socket.c_str(), tv);
  if (c == nullptr) throw ConnectionError("cannot connect to " + where + ": out of memory");
  if (c->err != 0) {
    std::string cause = c->errstr;
    redisFree(c);
    if (cause.find("timed out") != std::string::npos || cause.find("in progress") != std::string::npos) {
      cause = "no answer within " + format_ms(timeout);
    }
    throw ConnectionError("cannot connect to " + where + ": " + cause);
  }
  if (options_.endpoint.unix_socket.empty()) redisEnableKeepAlive(c);
  context_ = c;
  last_read_timeout_ = last_write_timeout_ = milliseconds(-1);
  std::lock_guard lock(fd_mutex_);
  fd_ = c->fd;
  shut_down_ = false;
}

void Connection::close() {
  if (context_ == nullptr) return;
  {
    // The descriptor number may be reused as soon as it is closed: forget it first.
    std::lock_guard lock(fd_mutex_);
    fd_ = -1;
  }
  redisFree(context_);
  context_ = nullptr;
}

void Connection::shutdown() {
  std::lock_guard lock(fd_mutex_);
  if (fd_ < 0) return;
  shut_down_ = true;
  ::shutdown(fd_, SHUT_RDWR);
}

void Connection::set_timeouts(SteadyTime deadline) {
  const milliseconds read = bounded(options_.read_timeout, deadline, options_.deadline_grace);
  const milliseconds write = bounded(options_.write_timeout, deadline, options_.deadline_grace);
  if (read.count() <= 0 || write.count() <= 0) {
    close();
    throw ConnectionError("the cycle's deadline passed while waiting for replies (the connection is closed)");
  }
  // SO_RCVTIMEO bounds each read(2), not the whole reply: it is set again before every reply, so a
  // server trickling bytes cannot hold the cycle past its deadline.
  if (read != last_read_timeout_) {
    const timeval tv = to_timeval(read);
    ::setsockopt(context_->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    last_read_timeout_ = read;
  }
  if (write != last_write_timeout_) {
    const timeval tv = to_timeval(write);
    ::setsockopt(context_->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    last_write_timeout_ = write;
  }
}

void Connection::fail(const std::string& doing) {
  const int saved_errno = errno;
  std::string cause = context_->errstr;
  const int err = context_->err;
  bool interrupted = false;
  {
    std::lock_guard lock(fd_mutex_);
    interrupted = shut_down_;
  }
  if (interrupted) {
    cause = "interrupted at the cycle's deadline";
  } else if (err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
    cause = "no reply within " + format_ms(last_read_timeout_);
  } else if (err == REDIS_ERR_EOF) {
    cause = "the server closed the connection";
  } else if (err == REDIS_ERR_PROTOCOL) {
    cause = "malformed reply (not RESP): " + cause;
  }
  close();
  throw ConnectionError(doing + ": " + cause);
}

std::vector<Reply> Connection::pipeline(const std::vector<Command>& commands, SteadyTime deadline) {
  if (context_ == nullptr) throw ConnectionError("not connected");
  std::vector<Reply> replies;
  if (commands.empty()) return replies;
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const Command& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      fail("sending " + command_name(command));
    }
  }
  ++round_trips_;
  commands_sent_ += commands.size();
  replies.reserve(commands.size());
  for (const Command& command : commands) {
    set_timeouts(deadline);
    void* raw = nullptr;
    errno = 0;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      // A server that turns a connection away (ERR max number of clients reached) answers the first
      // command with an error and closes: that answer, not the broken read after it, is the cause.
      std::string doing = "reading the reply to " + command_name(command);
      for (std::size_t i = 0; i < replies.size(); ++i) {
        if (!replies[i].is_error()) continue;
        const std::string& said = replies[i].str;
        doing = "the server replied to " + command_name(commands[i]) + " with \"" +
                said.substr(0, std::min(said.find_first_of("\r\n"), std::size_t{200})) + "\" and then " +
                doing;
        break;
      }
      fail(doing);
    }
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw),
                                                                  &freeReplyObject);
    replies.push_back(from_hiredis(*reply));
  }
  if (std::chrono::steady_clock::now() > deadline + options_.deadline_grace) {
    close();
    throw ConnectionError("the cycle's deadline passed while reading replies (the connection is closed)");
  }
  return replies;
}

}  // namespace tocsin::collectors::redis
