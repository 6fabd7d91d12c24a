// Time zones from the system's TZif files, time intervals, and RFC 3339.

#include "alerting/time_zone.hpp"

#include <gtest/gtest.h>

namespace tocsin::alerting::detail {
namespace {

Timestamp utc(int y, int mo, int d, int h, int mi) {
  return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

TEST(TimeZone, OffsetsAcrossDaylightSavingTime) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin);
  EXPECT_EQ(berlin->to_local(utc(2024, 1, 15, 12, 0)).utc_offset, 3600);
  EXPECT_EQ(berlin->to_local(utc(2024, 1, 15, 12, 0)).abbreviation, "CET");
  EXPECT_EQ(berlin->to_local(utc(2024, 7, 15, 12, 0)).utc_offset, 7200);
  // DST starts 2024-03-31 01:00 UTC.
  EXPECT_EQ(berlin->to_local(utc(2024, 3, 31, 0, 59)).utc_offset, 3600);
  EXPECT_EQ(berlin->to_local(utc(2024, 3, 31, 1, 0)).utc_offset, 7200);
  auto ny = TimeZone::load("America/New_York");
  ASSERT_TRUE(ny);
  LocalTime lt = ny->to_local(utc(2024, 11, 3, 5, 30));  // 01:30 EDT... then 01:30 EST at 06:30
  EXPECT_EQ(lt.abbreviation, "EDT");
  EXPECT_EQ(ny->to_local(utc(2024, 11, 3, 6, 30)).abbreviation, "EST");
  EXPECT_EQ(ny->to_local(utc(2024, 11, 3, 6, 30)).minute_of_day, 90);
}

TEST(TimeZone, ThePosixRuleCoversTimesAfterTheLastTransition) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin);
  EXPECT_EQ(berlin->to_local(utc(2060, 7, 1, 12, 0)).utc_offset, 7200);
  EXPECT_EQ(berlin->to_local(utc(2060, 12, 1, 12, 0)).utc_offset, 3600);
  auto sydney = TimeZone::load("Australia/Sydney");  // the southern hemisphere: DST across the new year
  ASSERT_TRUE(sydney);
  EXPECT_EQ(sydney->to_local(utc(2060, 1, 10, 0, 0)).utc_offset, 11 * 3600);
  EXPECT_EQ(sydney->to_local(utc(2060, 7, 10, 0, 0)).utc_offset, 10 * 3600);
}

TEST(TimeZone, UnknownZonesAreRefused) {
  EXPECT_EQ(TimeZone::load("Mars/Olympus"), nullptr);
  EXPECT_EQ(TimeZone::load("../../etc/passwd"), nullptr);
  EXPECT_EQ(TimeZone::load("UTC")->to_local(0).weekday, 4);  // a Thursday
}

TEST(TimeIntervals, WeekdaysHoursAndDaysOfMonthInTheirZone) {
  config::TimeIntervalConfig interval;
  config::TimeIntervalSpec spec;
  spec.weekdays = {{1, 5}};
  spec.times = {{9 * 60, 17 * 60}};
  spec.location = "Europe/Berlin";
  interval.intervals = {spec};
  EXPECT_TRUE(interval_contains(interval, utc(2024, 3, 4, 8, 0)));    // Monday 09:00 CET
  EXPECT_FALSE(interval_contains(interval, utc(2024, 3, 4, 7, 59)));  // 08:59 CET
  EXPECT_FALSE(interval_contains(interval, utc(2024, 3, 4, 16, 0)));  // 17:00 CET: the end is exclusive
  EXPECT_FALSE(interval_contains(interval, utc(2024, 3, 9, 10, 0)));  // Saturday
  config::TimeIntervalSpec last_day;
  last_day.days_of_month = {{-1, -1}};
  last_day.months = {{2, 2}};
  interval.intervals = {last_day};
  EXPECT_TRUE(interval_contains(interval, utc(2024, 2, 29, 12, 0)));  // a leap year's last day of February
  EXPECT_FALSE(interval_contains(interval, utc(2024, 2, 28, 12, 0)));
  EXPECT_FALSE(interval_contains(interval, utc(2024, 3, 31, 12, 0)));
}

TEST(Rfc3339, FormatsAndParses) {
  EXPECT_EQ(format_rfc3339(utc(2024, 3, 4, 10, 0) + 5), "2024-03-04T10:00:00.005Z");
  EXPECT_EQ(format_rfc3339(0), "0001-01-01T00:00:00Z");
  EXPECT_EQ(parse_rfc3339("2024-03-04T10:00:00.005Z"), utc(2024, 3, 4, 10, 0) + 5);
  EXPECT_EQ(parse_rfc3339("2024-03-04T11:30:00+01:30"), utc(2024, 3, 4, 10, 0));
  EXPECT_EQ(parse_rfc3339("2024-03-04T10:00:00.123456789Z"), utc(2024, 3, 4, 10, 0) + 123);
  EXPECT_EQ(parse_rfc3339("2024-02-30T10:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(format_local(utc(2024, 7, 1, 22, 30), *TimeZone::load("Europe/Berlin")), "2024-07-02 00:30 CEST");
}

}  // namespace
}  // namespace tocsin::alerting::detail
