#pragma once
// Interned strings for label names and values: a series holds 32-bit ids, not strings. Not
// thread-safe; the store guards it with its lock.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tocsin::store::detail {

class SymbolTable {
 public:
  using Id = std::uint32_t;

  // Returns the id of `s`, adding it if new; takes one reference.
  Id acquire(std::string_view s);
  // Drops one reference; the string is freed with its last.
  void release(Id id);
  std::optional<Id> find(std::string_view s) const;
  std::string_view str(Id id) const { return strings_[id]; }
  std::size_t size() const { return index_.size(); }
  std::size_t bytes() const;

 private:
  std::deque<std::string> strings_;  // a deque never moves its elements, so views stay valid
  std::vector<std::uint32_t> refs_;
  std::vector<Id> free_;
  std::unordered_map<std::string_view, Id> index_;
};

}  // namespace tocsin::store::detail
