#include "tocsin/core/duration.hpp"

#include <gtest/gtest.h>

namespace tocsin {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesPrometheusNotation) {
  EXPECT_EQ(parse_duration("15s"), Duration(15s));
  EXPECT_EQ(parse_duration("500ms"), Duration(500ms));
  EXPECT_EQ(parse_duration("1h30m"), Duration(90min));
  EXPECT_EQ(parse_duration("2d"), Duration(48h));
  EXPECT_EQ(parse_duration("1w"), Duration(7 * 24h));
  EXPECT_EQ(parse_duration("1y"), Duration(365 * 24h));
  EXPECT_EQ(parse_duration("1m500ms"), Duration(60500ms));
  EXPECT_EQ(parse_duration("0"), Duration(0));
}

TEST(Duration, RejectsMalformedInput) {
  for (const char* bad :
       {"", "15x", "s", "15", "1m1h", "1s1s", "-5m", "1.5h", "5 m", "99999999999999999999y"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(Duration(90s)), "1m30s");
  EXPECT_EQ(format_duration(Duration(0)), "0s");
  EXPECT_EQ(format_duration(Duration(1500ms)), "1s500ms");
  EXPECT_EQ(format_duration(Duration(24h)), "1d");
}

}  // namespace
}  // namespace tocsin
