#include "collectors/queues/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tocsin/core/json_text.hpp"

namespace tocsin::collectors::queues {

namespace {

using nlohmann::json;

constexpr std::string_view kKombuSep = "\x06\x16";

// Parses a JSON object, or nothing (no exceptions: the payload comes from the queue's producers).
std::optional<json> parse_object(std::string_view text) {
  json value = parse_json_bounded(text, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

std::optional<double> number_of(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && end == s.data() + s.size()) return d;
  }
  return std::nullopt;
}

std::optional<double> parse_double(std::string_view s) {
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// days_from_civil (Howard Hinnant's algorithm): days since 1970-01-01 of a proleptic Gregorian date.
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

}  // namespace

std::string_view problem_name(Problem p) {
  switch (p) {
    case Problem::none: return "none";
    case Problem::malformed_json: return "malformed_json";
    case Problem::no_timestamp: return "no_timestamp";
    case Problem::too_large: return "too_large";
    case Problem::wrong_type: return "wrong_type";
    case Problem::bad_reply: return "bad_reply";
    case Problem::malformed_process: return "malformed_process";
  }
  return "unknown";
}

std::optional<double> epoch_seconds(double value) {
  if (!std::isfinite(value) || value <= 0) return std::nullopt;
  return value > 1e11 ? value / 1000.0 : value;
}

JobTime sidekiq_job_time(std::string_view payload, std::uint64_t max_bytes) {
  if (payload.size() > max_bytes) return {Problem::too_large, 0};
  auto job = parse_object(payload);
  if (!job) return {Problem::malformed_json, 0};
  for (const char* field : {"enqueued_at", "created_at"}) {
    auto it = job->find(field);
    if (it == job->end()) continue;
    if (auto n = number_of(*it)) {
      if (auto t = epoch_seconds(*n)) return {Problem::none, *t};
    }
  }
  return {Problem::no_timestamp, 0};
}

JobTime json_field_time(std::string_view payload, std::string_view field, TimeUnit unit,
                        std::uint64_t max_bytes) {
  if (payload.size() > max_bytes) return {Problem::too_large, 0};
  auto item = parse_object(payload);
  if (!item) return {Problem::malformed_json, 0};
  auto it = item->find(std::string(field));
  if (it == item->end()) return {Problem::no_timestamp, 0};
  if (it->is_string()) {
    if (auto t = parse_iso8601_utc(it->get_ref<const std::string&>())) return {Problem::none, *t};
  }
  auto n = number_of(*it);
  if (!n || !std::isfinite(*n) || *n <= 0) return {Problem::no_timestamp, 0};
  switch (unit) {
    case TimeUnit::seconds: return {Problem::none, *n};
    case TimeUnit::milliseconds: return {Problem::none, *n / 1000.0};
    case TimeUnit::automatic: return {Problem::none, *epoch_seconds(*n)};
  }
  return {Problem::no_timestamp, 0};
}

std::optional<double> parse_iso8601_utc(std::string_view s) {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) || s[7] != '-' ||
      !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, hour) || s[13] != ':' ||
      !digits(s, 14, 2, minute) || s[16] != ':' || !digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  double fraction = 0;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    double scale = 0.1;
    ++pos;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      fraction += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::string_view zone = s.substr(pos);
  if (!(zone.empty() || zone == "Z" || zone == "+00:00" || zone == "+0000")) return std::nullopt;
  const long long days = days_from_civil(year, month, day);
  return static_cast<double>(days * 86400 + hour * 3600 + minute * 60 + second) + fraction;
}

std::optional<long long> reply_integer(const Reply& r) {
  if (r.type == Reply::Type::integer) return r.integer;
  if (r.type == Reply::Type::nil) return 0;
  if (r.type != Reply::Type::string) return std::nullopt;
  long long v = 0;
  auto [end, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
  if (ec != std::errc() || end != r.str.data() + r.str.size()) return std::nullopt;
  return v;
}

std::optional<std::vector<std::string>> reply_strings(const Reply& r) {
  if (r.type != Reply::Type::array) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (const Reply& e : r.elements) {
    if (e.type != Reply::Type::string) return std::nullopt;
    out.push_back(e.str);
  }
  return out;
}

bool is_wrong_type(const Reply& r) { return r.is_error() && r.str.starts_with("WRONGTYPE"); }

double nearest_rank(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

RetrySample sidekiq_retry_sample(const std::vector<std::string>& jobs, std::uint64_t max_bytes) {
  RetrySample out;
  std::vector<double> counts;
  counts.reserve(jobs.size());
  for (const std::string& text : jobs) {
    if (text.size() > max_bytes) {
      ++out.too_large;
      continue;
    }
    auto job = parse_object(text);
    if (!job) {
      ++out.malformed;
      continue;
    }
    double count = 0;
    if (auto it = job->find("retry_count"); it != job->end()) {
      if (auto n = number_of(*it); n && std::isfinite(*n) && *n >= 0) count = *n;
    }
    counts.push_back(count);
    if (auto it = job->find("failed_at"); it != job->end()) {
      if (auto n = number_of(*it)) {
        if (auto t = epoch_seconds(*n); t && (!out.oldest_failed_at || *t < *out.oldest_failed_at)) {
          out.oldest_failed_at = t;
        }
      }
    }
  }
  out.sampled = counts.size();
  if (!counts.empty()) {
    out.max_retry_count = *std::max_element(counts.begin(), counts.end());
    out.p95_retry_count = nearest_rank(counts, 0.95);
  }
  return out;
}

SidekiqProcess sidekiq_process(const Reply& hmget, std::uint64_t max_bytes) {
  SidekiqProcess p;
  if (hmget.type != Reply::Type::array || hmget.elements.size() != 5) {
    p.problem = Problem::bad_reply;
    return p;
  }
  const auto& e = hmget.elements;
  p.exists = std::any_of(e.begin(), e.end(), [](const Reply& r) { return r.type != Reply::Type::nil; });
  if (!p.exists) return p;
  auto text = [&](std::size_t i) -> std::optional<std::string_view> {
    if (e[i].type != Reply::Type::string) return std::nullopt;
    return std::string_view(e[i].str);
  };
  if (auto info = text(0); info && info->size() <= max_bytes) {
    if (auto obj = parse_object(*info)) {
      if (auto it = obj->find("hostname"); it != obj->end() && it->is_string()) p.hostname = *it;
      if (auto it = obj->find("concurrency"); it != obj->end()) p.concurrency = number_of(*it).value_or(0);
      if (auto it = obj->find("queues"); it != obj->end() && it->is_array()) {
        for (const auto& q : *it) {
          // Sidekiq 7 capsules may list "name,weight" pairs; the queue is the name.
          if (q.is_string()) {
            std::string name = q;
            if (auto comma = name.find(','); comma != std::string::npos) name.resize(comma);
            if (std::find(p.queues.begin(), p.queues.end(), name) == p.queues.end()) p.queues.push_back(name);
          }
        }
      }
    } else {
      p.problem = Problem::malformed_process;
    }
  } else {
    p.problem = Problem::malformed_process;
  }
  if (auto busy = text(1)) p.busy = parse_double(*busy).value_or(0);
  if (auto beat = text(2)) {
    if (auto b = parse_double(*beat)) p.beat = epoch_seconds(*b);
  }
  if (!p.beat) p.problem = Problem::malformed_process;
  if (auto quiet = text(3)) p.quiet = *quiet == "true";
  if (auto rss = text(4)) p.rss_bytes = parse_double(*rss).value_or(0) * 1024;
  return p;
}

std::optional<WorkEntry> sidekiq_work(std::string_view value, std::uint64_t max_bytes) {
  if (value.size() > max_bytes) return std::nullopt;
  auto obj = parse_object(value);
  if (!obj) return std::nullopt;
  WorkEntry w;
  auto queue = obj->find("queue");
  auto run_at = obj->find("run_at");
  if (queue == obj->end() || !queue->is_string() || run_at == obj->end()) return std::nullopt;
  auto n = number_of(*run_at);
  if (!n) return std::nullopt;
  auto t = epoch_seconds(*n);
  if (!t) return std::nullopt;
  w.queue = *queue;
  w.run_at = *t;
  return w;
}

std::optional<std::string> celery_binding_queue(std::string_view member) {
  std::size_t first = member.find(kKombuSep);
  if (first == std::string_view::npos) return std::nullopt;
  std::size_t second = member.find(kKombuSep, first + kKombuSep.size());
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view queue = member.substr(second + kKombuSep.size());
  if (queue.empty()) return std::nullopt;
  return std::string(queue);
}

std::string celery_priority_list(std::string_view queue, int step) {
  return std::string(queue) + std::string(kKombuSep) + std::to_string(step);
}

std::optional<std::vector<StreamGroup>> stream_groups(const Reply& r) {
  if (r.type != Reply::Type::array) return std::nullopt;
  std::vector<StreamGroup> out;
  for (const Reply& g : r.elements) {
    if (g.type != Reply::Type::array || g.elements.size() % 2 != 0) return std::nullopt;
    StreamGroup group;
    bool named = false;
    for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      const Reply& key = g.elements[i];
      const Reply& value = g.elements[i + 1];
      if (key.type != Reply::Type::string) return std::nullopt;
      auto number = [&]() -> std::optional<double> {
        if (value.type == Reply::Type::integer) return static_cast<double>(value.integer);
        return std::nullopt;
      };
      if (key.str == "name" && value.type == Reply::Type::string) {
        group.name = value.str;
        named = true;
      } else if (key.str == "consumers") {
        group.consumers = number().value_or(0);
      } else if (key.str == "pending") {
        group.pending = number().value_or(0);
      } else if (key.str == "lag") {
        group.lag = number();
      } else if (key.str == "last-delivered-id" && value.type == Reply::Type::string) {
        group.last_delivered_id = value.str;
      }
    }
    if (!named) return std::nullopt;
    out.push_back(std::move(group));
  }
  return out;
}

std::optional<double> stream_oldest_pending_idle(const Reply& r) {
  if (r.type != Reply::Type::array || r.elements.empty()) return std::nullopt;
  const Reply& entry = r.elements.front();
  if (entry.type != Reply::Type::array || entry.elements.size() < 3 ||
      entry.elements[2].type != Reply::Type::integer) {
    return std::nullopt;
  }
  return static_cast<double>(entry.elements[2].integer) / 1000.0;
}

}  // namespace tocsin::collectors::queues
