#pragma once
// The real daemon with a host collector over a proc tree the test writes (so the test sets
// node_load1) and the rule file the test gives, at 1 s intervals.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {

class HostRulesDaemon : public ::testing::Test {
 protected:
  static std::string read_source(const std::string& relative) {
    std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/" + relative);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void start(const std::string& rules) {
    daemon_ = std::make_unique<Daemon>("");
    const auto& dir = daemon_->dir();
    std::filesystem::create_directories(dir / "proc");
    for (const char* f : {"stat", "meminfo"})
      dir.write(std::string("proc/") + f, read_source(std::string("tests/data/host/real/") + f));
    set_load(0.5);
    dir.write("rules.yaml", rules);
    daemon_->write_config(
        "interval: 1s\nevaluation_interval: 1s\nrule_files: [rules.yaml]\ncollectors:\n  host:\n"
        "    - name: host\n      proc_path: " +
        (dir / "proc").string() + "\n      mountpoints: []\n      pressure: false\n");
    daemon_->restart();
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  }
  void set_load(double load) {
    daemon_->dir().write("proc/loadavg", std::to_string(load) + " 0.1 0.1 1/100 123\n");
  }

  std::unique_ptr<Daemon> daemon_;
};

}  // namespace tocsin::testing
