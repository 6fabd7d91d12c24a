#pragma once
// What the scrape collector's tests scrape: the real Python client app (app.py with Debian's
// python3-prometheus-client), node_exporter and redis_exporter from Debian, and a loopback server
// that answers each path with one of the bad cases.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/process.hpp"

namespace tocsin::testing {

inline const char* kSystemPython = "/usr/bin/python3";

// A process listening on a free port of 127.0.0.1 once ready() says so.
struct Served {
  std::unique_ptr<Process> process;
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

inline std::optional<Served> start_listening(std::vector<std::string> argv_with_port_placeholder,
                                             const TempDir& dir, const std::string& name) {
  Served s;
  s.port = free_port();
  for (auto& a : argv_with_port_placeholder) {
    for (auto pos = a.find("{port}"); pos != std::string::npos; pos = a.find("{port}"))
      a.replace(pos, 6, std::to_string(s.port));
  }
  ProcessOptions options;
  options.stdout_file = dir / (name + ".log");
  options.stderr_file = dir / (name + ".log");
  s.process = std::make_unique<Process>(argv_with_port_placeholder, options);
  if (!wait_until([&] { return port_open(s.port); }, std::chrono::seconds(20))) return std::nullopt;
  return s;
}

inline std::string app_script() { return std::string(TOCSIN_SOURCE_DIR) + "/tests/collectors/scrape/app.py"; }

inline bool python_client_installed() {
  return run_command({kSystemPython, "-c", "import prometheus_client"}).status == 0;
}

inline std::optional<Served> start_app(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kSystemPython, app_script(), "{port}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_listening(argv, dir, "app");
}

// One canned answer per path; every connection gets its own thread. `handler` returns the raw
// bytes to send (status line, headers and body) and may sleep.
class CannedServer {
 public:
  using Handler = std::function<std::string(const std::string& target)>;
  explicit CannedServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        std::lock_guard lock(mutex_);
        if (stopping_) {
          ::close(client);
          return;
        }
        ++requests_;
        workers_.emplace_back([this, client] { serve(client); });
      }
    });
  }
  ~CannedServer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    for (auto& w : workers_) w.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void serve(int client) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::read(client, buf, sizeof buf);
      if (n <= 0) break;
      request.append(buf, static_cast<std::size_t>(n));
    }
    const auto sp1 = request.find(' ');
    const auto sp2 = request.find(' ', sp1 + 1);
    const std::string target = sp1 == std::string::npos ? "" : request.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string response = handler_(target);
    for (std::size_t sent = 0; sent < response.size();) {
      const ssize_t w = ::send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (w <= 0) break;
      sent += static_cast<std::size_t>(w);
    }
    ::shutdown(client, SHUT_WR);
    ::close(client);
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  bool stopping_ = false;
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

inline std::string http_response(const std::string& body,
                                 const std::string& content_type = "text/plain; version=0.0.4",
                                 const std::string& extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
         "Connection: close\r\n\r\n" + body;
}

}  // namespace tocsin::testing
