#include "tocsin/http/humanize.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

namespace tocsin::http {

namespace {

std::string printf_g(double v, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g%s", v, suffix);
  return buf;
}

std::string special(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string humanize(double v) {
  if (!std::isfinite(v)) return special(v);
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1) {
    static const char* const kBig[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
    std::size_t i = 0;
    while (std::fabs(v) >= 1000 && i + 1 < std::size(kBig)) {
      v /= 1000;
      ++i;
    }
    return printf_g(v, kBig[i]);
  }
  static const char* const kSmall[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
  std::size_t i = 0;
  while (std::fabs(v) < 1 && i + 1 < std::size(kSmall)) {
    v *= 1000;
    ++i;
  }
  return printf_g(v, kSmall[i]);
}

std::string humanize_seconds(double v) {
  if (!std::isfinite(v)) return special(v);
  if (v < 0) return "-" + humanize_seconds(-v);
  if (v == 0) return "0s";
  if (v < 1e-3) return printf_g(v * 1e6, "us");
  if (v < 1) return printf_g(v * 1e3, "ms");
  if (v < 60) return printf_g(v, "s");
  auto total = static_cast<long long>(std::llround(v));
  const long long days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60,
                  seconds = total % 60;
  std::string out;
  if (days > 0) out += std::to_string(days) + "d ";
  if (days > 0 || hours > 0) out += std::to_string(hours) + "h ";
  out += std::to_string(minutes) + "m " + std::to_string(seconds) + "s";
  return out;
}

std::string humanize_bytes(double v) {
  if (!std::isfinite(v)) return special(v);
  static const char* const kUnits[] = {" B", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB", " ZiB", " YiB"};
  std::size_t i = 0;
  while (std::fabs(v) >= 1024 && i + 1 < std::size(kUnits)) {
    v /= 1024;
    ++i;
  }
  return printf_g(v, kUnits[i]);
}

std::string humanize_ratio(double v) {
  if (!std::isfinite(v)) return special(v);
  return printf_g(v * 100, "%");
}

std::string humanize_value(double v, Unit unit) {
  switch (unit) {
    case Unit::seconds: return humanize_seconds(v);
    case Unit::bytes: return humanize_bytes(v);
    case Unit::ratio: return humanize_ratio(v);
    case Unit::percent: return std::isfinite(v) ? printf_g(v, "%") : special(v);
    case Unit::none: break;
  }
  return humanize(v);
}

Unit unit_from_name(std::string_view name) {
  if (name == "seconds" || name == "s") return Unit::seconds;
  if (name == "bytes" || name == "B") return Unit::bytes;
  if (name == "ratio") return Unit::ratio;
  if (name == "percent" || name == "%") return Unit::percent;
  return Unit::none;
}

Unit unit_of(std::string_view explicit_unit, std::string_view expr) {
  if (!explicit_unit.empty()) return unit_from_name(explicit_unit);
  // Each identifier in the expression; a metric name's suffix says its unit. Names inside quotes
  // (label values) and inside [] (durations) are skipped.
  std::vector<Unit> found;
  std::size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      const std::size_t end = expr.find(c, i + 1);
      i = end == std::string_view::npos ? expr.size() : end + 1;
      continue;
    }
    if (c == '{' || c == '[') {  // label matchers, durations
      const std::size_t end = expr.find(c == '{' ? '}' : ']', i + 1);
      i = end == std::string_view::npos ? expr.size() : end + 1;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':') {
      std::size_t j = i;
      while (j < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[j])) || expr[j] == '_' || expr[j] == ':'))
        ++j;
      std::string_view word = expr.substr(i, j - i);
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (ends_with(word, suffix)) word.remove_suffix(suffix.size());
      }
      if (ends_with(word, "_total")) {
        // A counter of seconds (busy time): its rate is a ratio; of bytes: bytes per second.
        found.push_back(ends_with(word, "_seconds_total") ? Unit::ratio : Unit::none);
      } else if (ends_with(word, "_seconds")) {
        found.push_back(Unit::seconds);
      } else if (ends_with(word, "_bytes")) {
        found.push_back(Unit::bytes);
      } else if (ends_with(word, "_ratio")) {
        found.push_back(Unit::ratio);
      } else if (ends_with(word, "_percent")) {
        found.push_back(Unit::percent);
      }
      i = j;
      continue;
    }
    ++i;
  }
  if (found.empty()) return Unit::none;
  for (Unit u : found) {
    if (u != found.front()) return Unit::none;  // mixed: a division of two kinds, say
  }
  return found.front();
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_web_link(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;  // spaces, controls
  }
  std::string scheme;
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos) return false;
  for (char c : url.substr(0, colon))
    scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return false;
  const std::string_view rest = url.substr(colon + 1);
  return rest.size() > 2 && rest.substr(0, 2) == "//";
}

std::string link_html(std::string_view url, std::string_view text) {
  if (is_web_link(url))
    return "<a href=\"" + html_escape(url) + "\" rel=\"noopener noreferrer\">" + html_escape(text) + "</a>";
  return html_escape(text) + " <code class=\"nolink\">" + html_escape(url) + "</code>";
}

}  // namespace tocsin::http
