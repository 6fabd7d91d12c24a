#pragma once
// A secret from the config (a password, a token). It prints as "<secret>" anywhere it is formatted,
// so it cannot reach a log line, an error or /metrics by accident; reveal() is the one way out.

#include <ostream>
#include <string>

namespace tocsin::yaml {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  friend bool operator==(const Secret&, const Secret&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "<secret>"; }

 private:
  std::string value_;
};

}  // namespace tocsin::yaml
