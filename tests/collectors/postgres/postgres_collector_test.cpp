// The postgres collector against a real PostgreSQL 15 started by the test fixture.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "fixtures/postgres_server.hpp"
#include "tocsin/collectors/postgres.hpp"

namespace tocsin::collectors {
namespace {

using store::Batch;
using tocsin::testing::PostgresServer;

class PostgresCollectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new PostgresServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  PostgresCollectorTest()
      : log_(std::make_shared<spdlog::logger>("postgres", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_))) {
    config_.dsn = server_->dsn();
  }

  Batch collect(Collector& collector, std::chrono::milliseconds budget = std::chrono::seconds(10)) {
    Batch batch;
    collector.collect({.timestamp = 1'700'000'000'000, .deadline = std::chrono::steady_clock::now() + budget}, batch);
    return batch;
  }

  static PostgresServer* server_;
  config::PostgresTargetConfig config_;
  std::ostringstream log_lines_;
  std::shared_ptr<spdlog::logger> log_;
};
PostgresServer* PostgresCollectorTest::server_ = nullptr;

TEST_F(PostgresCollectorTest, ConnectsAndReportsUp) {
  auto collector = make_postgres_collector(config_, log_);
  Batch batch = collect(*collector);
  bool up = false;
  for (const auto& s : batch.samples()) {
    if (s.labels.metric_name() == "pg_up") up = s.value == 1 && s.labels.get("target") == "postgres";
  }
  EXPECT_TRUE(up);
  EXPECT_EQ(collector->details()["connected"], true);
}

}  // namespace
}  // namespace tocsin::collectors
