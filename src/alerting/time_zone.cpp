#include "time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

#include "tocsin/alerting/time_format.hpp"

namespace tocsin::alerting::detail {

std::int64_t days_from_civil(int year, int month, int day) {
  year -= month <= 2;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t days, int& year, int& month, int& day) {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2));
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

namespace {

int weekday_of(std::int64_t days) {  // 1970-01-01 was a Thursday
  return static_cast<int>(((days % 7) + 11) % 7);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace

// std[offset]dst[offset][,start[/time],end[/time]] (POSIX TZ, as in the TZif footer).
struct TimeZone::Rule {
  struct Date {
    char kind = 'M';  // 'M' month.week.day, 'J' Julian day without Feb 29, 'D' zero-based day with it
    int month = 0;
    int week = 0;
    int day = 0;
    int time = 7200;  // seconds after local midnight
  };
  Offset standard;
  Offset daylight;
  bool has_dst = false;
  Date start;
  Date end;

  static std::optional<Rule> parse(std::string_view s) {
    Rule r;
    std::size_t i = 0;
    auto name = [&](std::string& out) {
      if (i < s.size() && s[i] == '<') {
        std::size_t close = s.find('>', i);
        if (close == std::string_view::npos) return false;
        out = std::string(s.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        std::size_t b = i;
        while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
        out = std::string(s.substr(b, i - b));
      }
      return out.size() >= 3;
    };
    auto number = [&](int& out) {
      std::size_t b = i;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      return std::from_chars(s.data() + b, s.data() + i, out).ec == std::errc() && i > b;
    };
    auto hms = [&](int& seconds) {  // [+-]hh[:mm[:ss]]
      int sign = 1;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
      int h = 0, m = 0, sec = 0;
      if (!number(h)) return false;
      if (i < s.size() && s[i] == ':') {
        ++i;
        if (!number(m)) return false;
        if (i < s.size() && s[i] == ':') {
          ++i;
          if (!number(sec)) return false;
        }
      }
      seconds = sign * (h * 3600 + m * 60 + sec);
      return true;
    };
    auto date = [&](Date& d) {
      if (i < s.size() && s[i] == 'M') {
        ++i;
        d.kind = 'M';
        if (!number(d.month) || i >= s.size() || s[i++] != '.' || !number(d.week) || i >= s.size() ||
            s[i++] != '.' || !number(d.day)) {
          return false;
        }
        if (d.month < 1 || d.month > 12 || d.week < 1 || d.week > 5 || d.day < 0 || d.day > 6) return false;
      } else {
        d.kind = 'D';
        if (i < s.size() && s[i] == 'J') {
          d.kind = 'J';
          ++i;
        }
        if (!number(d.day)) return false;
      }
      if (i < s.size() && s[i] == '/') {
        ++i;
        if (!hms(d.time)) return false;
      }
      return true;
    };
    int offset = 0;
    if (!name(r.standard.abbreviation) || !hms(offset)) return std::nullopt;
    r.standard.utc_offset = -offset;  // POSIX offsets count west of Greenwich
    if (i == s.size()) return r;
    if (!name(r.daylight.abbreviation)) return std::nullopt;
    r.has_dst = true;
    r.daylight.utc_offset = r.standard.utc_offset + 3600;
    if (i < s.size() && s[i] != ',') {
      if (!hms(offset)) return std::nullopt;
      r.daylight.utc_offset = -offset;
    }
    if (i >= s.size() || s[i++] != ',' || !date(r.start) || i >= s.size() || s[i++] != ',' || !date(r.end)) {
      return std::nullopt;
    }
    return i == s.size() ? std::optional<Rule>(r) : std::nullopt;
  }

  // Local midnight of the date in `year`, as seconds since the epoch counted in local time.
  static std::int64_t local_seconds(const Date& d, int year) {
    std::int64_t day = 0;
    if (d.kind == 'M') {
      std::int64_t first = days_from_civil(year, d.month, 1);
      int dom = 1 + (d.day - weekday_of(first) + 7) % 7 + (d.week - 1) * 7;
      while (dom > days_in_month(year, d.month)) dom -= 7;
      day = first + dom - 1;
    } else if (d.kind == 'J') {
      day = days_from_civil(year, 1, 1) + d.day - 1;
      if (d.day >= 60 && days_in_month(year, 2) == 29) ++day;
    } else {
      day = days_from_civil(year, 1, 1) + d.day;
    }
    return day * 86400 + d.time;
  }

  Offset at(std::int64_t t) const {
    if (!has_dst) return standard;
    int year = 0, month = 0, day = 0;
    civil_from_days(floor_div(t + standard.utc_offset, 86400), year, month, day);
    std::int64_t start_utc = local_seconds(start, year) - standard.utc_offset;
    std::int64_t end_utc = local_seconds(end, year) - daylight.utc_offset;
    bool dst = start_utc < end_utc ? (t >= start_utc && t < end_utc) : (t >= start_utc || t < end_utc);
    return dst ? daylight : standard;
  }
};

namespace {

std::int64_t be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const std::shared_ptr<const TimeZone> zone = [] {
    auto z = std::make_shared<TimeZone>();
    z->name_ = "UTC";
    z->types_.push_back({0, "UTC"});
    return z;
  }();
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::load(const std::string& name) {
  if (name == "UTC" || name.empty()) return utc();
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  if (name.front() == '/' || name.find("..") != std::string::npos) return nullptr;
  std::string path = name == "Local" ? "/etc/localtime" : "/usr/share/zoneinfo/" + name;
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = name;
  // Header: magic, version, 15 unused bytes, then six counts.
  auto header = [&](std::size_t at, std::int64_t counts[6]) {
    if (data.size() < at + 44 || std::string_view(reinterpret_cast<const char*>(&data[at]), 4) != "TZif")
      return false;
    for (int i = 0; i < 6; ++i) counts[i] = be(&data[at + 20 + 4 * i], 4);
    return true;
  };
  std::int64_t c[6];
  if (!header(0, c)) return nullptr;
  enum { isut, isstd, leap, timecnt, typecnt, charcnt };
  std::size_t pos = 44;
  int width = 4;
  if (data[4] >= '2') {  // skip the 32-bit block, read the 64-bit one
    pos += c[timecnt] * 5 + c[typecnt] * 6 + c[charcnt] + c[leap] * 8 + c[isstd] + c[isut];
    if (!header(pos, c)) return nullptr;
    pos += 44;
    width = 8;
  }
  std::size_t need =
      c[timecnt] * (width + 1) + c[typecnt] * 6 + c[charcnt] + c[leap] * (width + 4) + c[isstd] + c[isut];
  if (data.size() < pos + need || c[typecnt] < 1) return nullptr;
  for (std::int64_t i = 0; i < c[timecnt]; ++i)
    zone->transitions_.push_back(be(&data[pos + i * width], width));
  pos += c[timecnt] * width;
  for (std::int64_t i = 0; i < c[timecnt]; ++i) {
    std::uint8_t type = data[pos + i];
    if (type >= c[typecnt]) return nullptr;
    zone->transition_types_.push_back(type);
  }
  pos += c[timecnt];
  std::size_t chars = pos + c[typecnt] * 6;
  for (std::int64_t i = 0; i < c[typecnt]; ++i) {
    const unsigned char* p = &data[pos + i * 6];
    Offset o;
    o.utc_offset = static_cast<int>(be(p, 4));
    std::size_t idx = p[5];
    for (std::size_t k = chars + idx; k < chars + c[charcnt] && data[k] != 0; ++k)
      o.abbreviation += static_cast<char>(data[k]);
    zone->types_.push_back(std::move(o));
  }
  pos += need - c[timecnt] * (width + 1);
  if (width == 8 && pos < data.size() && data[pos] == '\n') {
    std::size_t end = pos + 1;
    while (end < data.size() && data[end] != '\n') ++end;
    std::string footer(data.begin() + static_cast<std::ptrdiff_t>(pos + 1),
                       data.begin() + static_cast<std::ptrdiff_t>(end));
    if (auto rule = Rule::parse(footer)) zone->rule_ = std::make_shared<const Rule>(*rule);
  }
  cache[name] = zone;
  return zone;
}

TimeZone::Offset TimeZone::offset_at(std::int64_t t) const {
  if (transitions_.empty() || t < transitions_.front()) {
    if (transitions_.empty() && rule_) return rule_->at(t);
    return types_.front();
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.end() && rule_) return rule_->at(t);
  return types_[transition_types_[static_cast<std::size_t>(it - transitions_.begin()) - 1]];
}

LocalTime TimeZone::to_local(Timestamp t) const {
  std::int64_t seconds = floor_div(t, 1000);
  Offset o = offset_at(seconds);
  LocalTime lt;
  lt.utc_offset = o.utc_offset;
  lt.abbreviation = o.abbreviation;
  lt.millisecond = static_cast<int>(t - seconds * 1000);
  std::int64_t local = seconds + o.utc_offset;
  std::int64_t days = floor_div(local, 86400);
  std::int64_t rest = local - days * 86400;
  civil_from_days(days, lt.year, lt.month, lt.day);
  lt.weekday = weekday_of(days);
  lt.minute_of_day = static_cast<int>(rest / 60);
  lt.second = static_cast<int>(rest % 60);
  return lt;
}

namespace {

bool in_ranges(const std::vector<config::IntRange>& ranges, int value) {
  if (ranges.empty()) return true;
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const config::IntRange& r) { return value >= r.begin && value <= r.end; });
}

bool spec_contains(const config::TimeIntervalSpec& spec, Timestamp t) {
  auto zone = TimeZone::load(spec.location);
  if (!zone) zone = TimeZone::utc();
  LocalTime lt = zone->to_local(t);
  if (!spec.times.empty() &&
      std::none_of(spec.times.begin(), spec.times.end(), [&](const config::TimeOfDayRange& r) {
        return lt.minute_of_day >= r.start_minute && lt.minute_of_day < r.end_minute;
      })) {
    return false;
  }
  if (!in_ranges(spec.weekdays, lt.weekday) || !in_ranges(spec.months, lt.month)) return false;
  if (!spec.days_of_month.empty()) {
    int last = days_in_month(lt.year, lt.month);
    bool any =
        std::any_of(spec.days_of_month.begin(), spec.days_of_month.end(), [&](const config::IntRange& r) {
          // Negative days count from the month's end: -1 is its last day.
          int b = r.begin < 0 ? last + 1 + r.begin : r.begin;
          int e = r.end < 0 ? last + 1 + r.end : r.end;
          return lt.day >= b && lt.day <= e;
        });
    if (!any) return false;
  }
  return true;
}

}  // namespace

bool interval_contains(const config::TimeIntervalConfig& interval, Timestamp t) {
  return std::any_of(interval.intervals.begin(), interval.intervals.end(),
                     [&](const config::TimeIntervalSpec& spec) { return spec_contains(spec, t); });
}

std::string format_rfc3339(Timestamp t) {
  if (t == 0) return "0001-01-01T00:00:00Z";
  LocalTime lt = TimeZone::utc()->to_local(t);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", lt.year, lt.month, lt.day,
                lt.minute_of_day / 60, lt.minute_of_day % 60, lt.second, lt.millisecond);
  return buf;
}

std::optional<Timestamp> parse_rfc3339(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (at + len > s.size()) return false;
    auto r = std::from_chars(s.data() + at, s.data() + at + len, out);
    return r.ec == std::errc() && r.ptr == s.data() + at + len;
  };
  if (s.size() < 20 || !num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) ||
      s[16] != ':' || !num(17, 2, sec)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  std::size_t i = 19;
  int ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  int offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (!num(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !num(i + 4, 2, om)) return std::nullopt;
    offset = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset * 60;
  return seconds * 1000 + ms;
}

std::string format_local(Timestamp t, const TimeZone& zone) {
  LocalTime lt = zone.to_local(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d %s", lt.year, lt.month, lt.day,
                lt.minute_of_day / 60, lt.minute_of_day % 60, lt.abbreviation.c_str());
  return buf;
}

}  // namespace tocsin::alerting::detail

namespace tocsin::alerting {

std::string format_rfc3339(Timestamp t) { return detail::format_rfc3339(t); }
std::optional<Timestamp> parse_rfc3339(const std::string& text) { return detail::parse_rfc3339(text); }

}  // namespace tocsin::alerting

namespace tocsin::config {

bool time_interval_active(const TimeIntervalConfig& interval, std::int64_t t) {
  return alerting::detail::interval_contains(interval, t);
}

}  // namespace tocsin::config
