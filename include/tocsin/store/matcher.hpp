#pragma once
// Label matchers (=, !=, =~, !~) as in PromQL. Regexes are RE2 syntax, fully anchored.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tocsin/core/match_type.hpp"

namespace re2 {
class RE2;
}

namespace tocsin::store {

using tocsin::MatchType;

// Immutable; cheap to copy (the compiled regex is shared). Thread-safe.
class Matcher {
 public:
  // Throws std::invalid_argument with RE2's message when the regex does not compile.
  Matcher(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }

  // Whether a label value matches; an absent label is the empty string.
  bool matches(std::string_view label_value) const;
  // True for !=, !~, and for = / =~ that match "" (they select series lacking the label too).
  bool matches_empty() const { return matches_empty_; }

  std::string to_string() const;  // name="value", with the value escaped

 private:
  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> regex_;
  bool matches_empty_ = false;
};

}  // namespace tocsin::store
