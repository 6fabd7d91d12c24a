#pragma once
// JSON to text for everything tocsin writes (API answers, notifications, state files). Strings that
// are not valid UTF-8 (a Postgres message in LATIN1, a cut template) get U+FFFD instead of making
// nlohmann::json throw, so bad bytes from a server never cost an answer, a notification or a state write.

#include <nlohmann/json.hpp>
#include <string>

namespace tocsin {

inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tocsin
