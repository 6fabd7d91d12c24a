#pragma once
// YAML text helpers of `tocsin rules export` (export.cpp, export_tests.cpp): scalars written so that Go's
// YAML reads back exactly the string given.

#include <charconv>
#include <cmath>
#include <string>

namespace tocsin::rules::export_detail {

inline bool has_control(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t' && c != '\n') return true;
    if (c == 0x7f) return true;
  }
  return false;
}

// A double-quoted scalar with JSON's escapes (which YAML's double-quoted style reads).
inline std::string double_quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* const kHex = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// A one-line string: single-quoted (only ' is doubled, so PromQL's quotes and backslashes stay
// readable), double-quoted when it holds line breaks or control characters.
inline std::string quoted(const std::string& s) {
  if (has_control(s) || s.find('\n') != std::string::npos) return double_quoted(s);
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// The value after "key: ": a literal block (|-) indented by `indent` spaces for text of several lines,
// else quoted().
inline std::string scalar(const std::string& s, int indent) {
  const bool block = s.find('\n') != std::string::npos && !has_control(s) && !s.empty() && s[0] != ' ' &&
                     s[0] != '\n' && s.back() != '\n' && s.back() != ' ';
  if (!block) return quoted(s);
  std::string out = "|-";
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out += '\n';
    if (end > start) out += std::string(static_cast<std::size_t>(indent), ' ') + s.substr(start, end - start);
    start = end + 1;
  }
  return out;
}

// A number as PromQL reads it back exactly: the shortest round-trip form, Inf, -Inf, NaN.
inline std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf, end);
}

// A PromQL double-quoted string literal.
inline std::string promql_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace tocsin::rules::export_detail
