#pragma once
// IANA time zones read from the system's TZif files (libstdc++ 12 has no std::chrono::tzdb), and the
// calendar arithmetic that time intervals and notification text need.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/alerting/config.hpp"
#include "tocsin/core/sample.hpp"

namespace tocsin::alerting::detail {

struct LocalTime {
  int year = 1970;
  int month = 1;          // 1..12
  int day = 1;            // 1..31
  int weekday = 4;        // 0 = Sunday
  int minute_of_day = 0;  // 0..1439
  int second = 0;
  int millisecond = 0;
  int utc_offset = 0;  // seconds east of UTC
  std::string abbreviation;
};

// Immutable once loaded; thread-safe.
class TimeZone {
 public:
  // "UTC", "Local" (/etc/localtime) or an IANA name under /usr/share/zoneinfo. Returns nullptr when
  // the zone cannot be read.
  static std::shared_ptr<const TimeZone> load(const std::string& name);
  static std::shared_ptr<const TimeZone> utc();

  const std::string& name() const { return name_; }
  LocalTime to_local(Timestamp t) const;

  struct Offset {
    int utc_offset = 0;
    std::string abbreviation;
  };
  Offset offset_at(std::int64_t unix_seconds) const;

 private:
  struct Rule;  // the POSIX TZ string at the end of a TZif file, for times past the last transition
  std::string name_;
  std::vector<std::int64_t> transitions_;
  std::vector<std::uint8_t> transition_types_;
  std::vector<Offset> types_;
  std::shared_ptr<const Rule> rule_;
};

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(int year, int month, int day);
void civil_from_days(std::int64_t days, int& year, int& month, int& day);
int days_in_month(int year, int month);

// Whether `t` falls into the interval (any of its specs). Zones are resolved through `zones`.
bool interval_contains(const config::TimeIntervalConfig& interval, Timestamp t);

// RFC 3339 in UTC with milliseconds: 2024-03-01T12:00:00.000Z. 0 gives the zero time of Go
// (0001-01-01T00:00:00Z), which Alertmanager reads as "unset".
std::string format_rfc3339(Timestamp t);
// Parses RFC 3339 (Z or +hh:mm offsets, optional fraction). Returns nullopt when malformed.
std::optional<Timestamp> parse_rfc3339(const std::string& text);
// "2024-03-01 13:00 CET" in the zone.
std::string format_local(Timestamp t, const TimeZone& zone);

}  // namespace tocsin::alerting::detail
