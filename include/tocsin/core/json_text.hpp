#pragma once
// JSON to text for everything tocsin writes (API answers, notifications, state files). Strings that
// are not valid UTF-8 (a Postgres message in LATIN1, a cut template) get U+FFFD instead of making
// nlohmann::json throw, so bad bytes from a server never cost an answer, a notification or a state write.
// And JSON from text for everything tocsin reads (kubelet and receiver replies, request bodies, state
// files), bounded in depth.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace tocsin {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Deeper than any reply or file tocsin reads: nlohmann parses without recursion, but copying, comparing
// and dumping a value recurse, so a reply of a million nested arrays would overflow the stack later.
inline constexpr std::size_t kMaxJsonDepth = 256;

// Where `text` first nests arrays and objects deeper than `max_depth` (a byte offset), or npos. Strings
// are skipped (brackets inside them do not count); the text need not be valid JSON.
inline std::size_t json_too_deep_at(std::string_view text, std::size_t max_depth = kMaxJsonDepth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

// nlohmann::json::parse(text), refusing nesting deeper than kMaxJsonDepth as a parse error (thrown as
// nlohmann::json::parse_error, or a discarded value when `allow_exceptions` is false, as parse does).
inline nlohmann::json parse_json_bounded(std::string_view text, bool allow_exceptions = true) {
  if (const std::size_t at = json_too_deep_at(text); at != std::string_view::npos) {
    if (!allow_exceptions) return nlohmann::json(nlohmann::json::value_t::discarded);
    throw nlohmann::json::parse_error::create(101, at + 1,
                                              "syntax error at byte " + std::to_string(at + 1) +
                                                  ": nested deeper than " + std::to_string(kMaxJsonDepth) +
                                                  " levels",
                                              nullptr);
  }
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, allow_exceptions);
}

}  // namespace tocsin
