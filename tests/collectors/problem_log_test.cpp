// ProblemLog: a lasting problem is logged when it starts, when its message changes and when it ends,
// not every cycle.
#include "tocsin/collectors/problem_log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

namespace tocsin::collectors {
namespace {

class ProblemLogTest : public ::testing::Test {
 protected:
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> logger = [this] {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    sink->set_pattern("%l %v");
    return std::make_shared<spdlog::logger>("problems", sink);
  }();
  ProblemLog problems{logger, "redis collector cache"};
};

TEST_F(ProblemLogTest, LogsAProblemOnceUntilItChangesOrEnds) {
  for (int cycle = 0; cycle < 3; ++cycle)
    problems.report("LATENCY", spdlog::level::warn, "LATENCY LATEST refused");
  problems.report("LATENCY", spdlog::level::warn, "LATENCY LATEST timed out");
  problems.clear("LATENCY", [] { return std::string("LATENCY works again"); });
  EXPECT_EQ(out.str(),
            "warning redis collector cache: LATENCY LATEST refused\n"
            "warning redis collector cache: LATENCY LATEST timed out\n"
            "info redis collector cache: LATENCY works again\n");
}

TEST_F(ProblemLogTest, ClearingWhatWasNeverReportedSaysNothingAndBuildsNoMessage) {
  bool built = false;
  problems.clear("mounts", [&] {
    built = true;
    return std::string("mounts readable again");
  });
  EXPECT_FALSE(built);
  EXPECT_EQ(out.str(), "");
}

TEST_F(ProblemLogTest, SubjectsAreIndependentAndAProblemCanReturn) {
  problems.report("a", spdlog::level::warn, "a broken");
  problems.report("b", spdlog::level::info, "b refused");
  problems.clear("a", [] { return std::string("a fine"); });
  problems.report("b", spdlog::level::info, "b refused");
  problems.report("a", spdlog::level::warn, "a broken");
  EXPECT_EQ(out.str(),
            "warning redis collector cache: a broken\n"
            "info redis collector cache: b refused\n"
            "info redis collector cache: a fine\n"
            "warning redis collector cache: a broken\n");
}

}  // namespace
}  // namespace tocsin::collectors
