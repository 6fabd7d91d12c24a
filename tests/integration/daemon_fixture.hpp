#pragma once
// Runs the real tocsin binary on a free port with a config written by the test.

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>

#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"

namespace tocsin::testing {

class Daemon {
 public:
  // Writes `config_body` (without listen/state_dir, which the fixture sets) and starts the daemon.
  explicit Daemon(const std::string& config_body, std::vector<std::string> env = {},
                  std::vector<std::string> extra_args = {})
      : port_(free_port()) {
    write_config(config_body);
    // Lifecycle on, so tests reload through POST /-/reload without a token (docs/security.md).
    argv_ = {TOCSIN_EXECUTABLE, "run", "--config", config_path(), "--web.enable-lifecycle"};
    argv_.insert(argv_.end(), extra_args.begin(), extra_args.end());
    options_.env = std::move(env);
    options_.stderr_file = dir_ / "stderr.log";
    options_.stdout_file = dir_ / "stdout.log";
    process_ = std::make_unique<Process>(argv_, options_);
  }

  // Stops the daemon (SIGTERM, or SIGKILL when `kill`) and starts it again on the same port, config
  // and state_dir. The new process's log replaces the old one's.
  void restart(bool kill = false) {
    if (kill) {
      process_->signal(SIGKILL);
      process_->wait(std::chrono::seconds(10));
    } else {
      process_->stop();
    }
    process_ = std::make_unique<Process>(argv_, options_);
  }

  void write_config(const std::string& body) const {
    dir_.write("tocsin.yaml", "listen: 127.0.0.1:" + std::to_string(port_) +
                                  "\nstate_dir: " + (dir_ / "state").string() + "\n" + body);
  }
  std::string config_path() const { return (dir_ / "tocsin.yaml").string(); }
  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  Process& process() { return *process_; }
  std::string log() const {
    std::ifstream in(dir_ / "stderr.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return wait_until([&] { return !process_->running() || http_get(port_, "/-/ready").status == 200; },
                      timeout) &&
           process_->running();
  }
  HttpResult get(const std::string& target) const { return http_get(port_, target); }
  // POST /-/reload, again after Retry-After while rate-limited (429): reloads through HTTP are at
  // most one a second.
  HttpResult reload() const {
    HttpResult r;
    wait_until(
        [&] {
          r = http_request(port_, "POST", "/-/reload");
          return r.status != 429;
        },
        std::chrono::seconds(10));
    return r;
  }

 private:
  TempDir dir_{"tocsin-daemon"};
  int port_;
  std::vector<std::string> argv_;
  ProcessOptions options_;
  std::unique_ptr<Process> process_;
};

}  // namespace tocsin::testing
