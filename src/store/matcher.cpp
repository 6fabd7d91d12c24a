#include "tocsin/store/matcher.hpp"

#include <re2/re2.h>

#include "tocsin/core/labels.hpp"

namespace tocsin::store {

Matcher::Matcher(MatchType type, std::string name, std::string value)
    : type_(type), name_(std::move(name)), value_(std::move(value)) {
  if (type_ == MatchType::regex || type_ == MatchType::not_regex) {
    // Fully anchored, as PromQL's regex matchers are; dot matches newline like Prometheus ((?s)).
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);
    auto re = std::make_shared<RE2>("^(?:" + value_ + ")$", options);
    if (!re->ok()) {
      throw std::invalid_argument("invalid regular expression \"" + value_ + "\": " + re->error());
    }
    regex_ = std::move(re);
  }
  matches_empty_ = matches("");
}

bool Matcher::matches(std::string_view label_value) const {
  switch (type_) {
    case MatchType::equal: return label_value == value_;
    case MatchType::not_equal: return label_value != value_;
    case MatchType::regex:
      return RE2::FullMatch(re2::StringPiece(label_value.data(), label_value.size()), *regex_);
    case MatchType::not_regex:
      return !RE2::FullMatch(re2::StringPiece(label_value.data(), label_value.size()), *regex_);
  }
  return false;
}

std::string Matcher::to_string() const {
  std::string out = name_;
  out += tocsin::to_string(type_);
  out += '"';
  append_escaped_label_value(out, value_);
  out += '"';
  return out;
}

}  // namespace tocsin::store
