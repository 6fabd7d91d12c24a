#include "store/symbols.hpp"

namespace tocsin::store::detail {

SymbolTable::Id SymbolTable::acquire(std::string_view s) {
  if (auto it = index_.find(s); it != index_.end()) {
    ++refs_[it->second];
    return it->second;
  }
  Id id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    strings_[id] = std::string(s);
    refs_[id] = 1;
  } else {
    id = static_cast<Id>(strings_.size());
    strings_.emplace_back(s);
    refs_.push_back(1);
  }
  index_.emplace(strings_[id], id);
  return id;
}

void SymbolTable::release(Id id) {
  if (--refs_[id] > 0) return;
  index_.erase(std::string_view(strings_[id]));
  std::string().swap(strings_[id]);
  free_.push_back(id);
}

std::optional<SymbolTable::Id> SymbolTable::find(std::string_view s) const {
  auto it = index_.find(s);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::size_t SymbolTable::bytes() const {
  std::size_t total = strings_.size() * (sizeof(std::string) + sizeof(std::uint32_t));
  for (const std::string& s : strings_) {
    if (s.capacity() > 15) total += s.capacity() + 1;  // beyond the small-string buffer
  }
  // unordered_map: a node (next pointer, key view, id, cached hash) per entry plus the bucket array.
  total += index_.size() * (sizeof(void*) + sizeof(std::string_view) + 8 + sizeof(std::size_t));
  total += index_.bucket_count() * sizeof(void*);
  total += free_.capacity() * sizeof(Id);
  return total;
}

}  // namespace tocsin::store::detail
