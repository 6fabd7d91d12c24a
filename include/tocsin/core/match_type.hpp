#pragma once
// The four kinds of label matcher (=, !=, =~, !~), shared by PromQL selectors (store::Matcher) and
// the alerting config's route and silence matchers.

#include <string_view>

namespace tocsin {

enum class MatchType { equal, not_equal, regex, not_regex };

// "=", "!=", "=~", "!~"
constexpr std::string_view to_string(MatchType type) {
  switch (type) {
    case MatchType::equal: return "=";
    case MatchType::not_equal: return "!=";
    case MatchType::regex: return "=~";
    case MatchType::not_regex: return "!~";
  }
  return "?";
}

}  // namespace tocsin
