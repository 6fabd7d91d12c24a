#include "tocsin/core/labels.hpp"

#include <algorithm>
#include <memory>
#include <new>
#include <stdexcept>

namespace tocsin {

namespace {

void sort_and_dedupe(std::vector<Label>& labels) {
  // Stable, so that of two labels with one name the later one wins below.
  std::stable_sort(labels.begin(), labels.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  std::vector<Label> out;
  out.reserve(labels.size());
  for (Label& l : labels) {
    if (!out.empty() && out.back().name == l.name) {
      out.back() = std::move(l);
    } else {
      out.push_back(std::move(l));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  labels = std::move(out);
}

// 64-bit FNV-1a; a separator byte keeps ("ab","c") and ("a","bc") apart.
constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

inline std::uint64_t mix(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  h ^= 0xff;
  h *= kFnvPrime;
  return h;
}

}  // namespace

Labels::Rep* Labels::allocate(std::size_t capacity) {
  void* memory = ::operator new(sizeof(Rep) + capacity * sizeof(Label));
  Rep* rep = new (memory) Rep;
  rep->capacity = static_cast<std::uint32_t>(capacity);
  return rep;
}

void Labels::destroy(Rep* rep) noexcept {
  std::destroy_n(rep->data(), rep->size);
  rep->~Rep();
  ::operator delete(rep);
}

Labels::Writer::Writer(std::size_t capacity) : rep_(allocate(capacity)) {}

Labels::Writer::~Writer() {
  if (rep_ != nullptr) destroy(rep_);
}

void Labels::Writer::add(std::string_view name, std::string_view value) {
  if (value.empty()) return;
  if (rep_ == nullptr || rep_->size == rep_->capacity)
    throw std::length_error("Labels::Writer: over capacity");
  new (rep_->data() + rep_->size) Label{std::string(name), std::string(value)};
  ++rep_->size;
}

void Labels::Writer::add(Label&& label) {
  if (label.value.empty()) return;
  if (rep_ == nullptr || rep_->size == rep_->capacity)
    throw std::length_error("Labels::Writer: over capacity");
  new (rep_->data() + rep_->size) Label{std::move(label)};
  ++rep_->size;
}

Labels Labels::Writer::finish() {
  Labels out;
  if (rep_ != nullptr && rep_->size > 0) {
    out.rep_ = std::exchange(rep_, nullptr);
  } else if (rep_ != nullptr) {
    destroy(std::exchange(rep_, nullptr));
  }
  return out;
}

Labels::Labels(std::initializer_list<Label> labels) {
  std::vector<Label> items(labels);
  sort_and_dedupe(items);
  *this = from_sorted(std::move(items));
}

Labels Labels::from_unsorted(std::vector<Label> labels) {
  sort_and_dedupe(labels);
  return from_sorted(std::move(labels));
}

Labels Labels::from_sorted(std::vector<Label> labels) {
  if (labels.empty()) return {};
  Writer out(labels.size());
  for (Label& l : labels) out.add(std::move(l));
  return out.finish();
}

std::string_view Labels::get(std::string_view name) const {
  for (const Label& l : *this) {
    if (l.name == name) return l.value;
  }
  return {};
}

std::uint64_t Labels::hash() const {
  if (!rep_) return kFnvOffset;
  if (rep_->hashed.load(std::memory_order_acquire)) return rep_->hash.load(std::memory_order_relaxed);
  std::uint64_t h = kFnvOffset;
  for (const Label& l : *this) {
    h = mix(mix(h, l.name), l.value);
  }
  // Two threads may both compute it; they store the same value.
  rep_->hash.store(h, std::memory_order_relaxed);
  rep_->hashed.store(true, std::memory_order_release);
  return h;
}

std::uint64_t Labels::hash_for(const std::vector<std::string>& names, bool include) const {
  std::uint64_t h = kFnvOffset;
  for (const Label& l : items()) {
    bool listed = std::binary_search(names.begin(), names.end(), l.name);
    if (listed == include) h = mix(mix(h, l.name), l.value);
  }
  return h;
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

std::string Labels::to_string() const {
  std::string out(metric_name());
  out += '{';
  bool first = true;
  for (const Label& l : items()) {
    if (l.name == kMetricNameLabel) continue;
    if (!first) out += ", ";
    first = false;
    out += l.name;
    out += "=\"";
    append_escaped_label_value(out, l.value);
    out += '"';
  }
  out += '}';
  return out;
}

LabelsBuilder::LabelsBuilder(const Labels& base) : labels_(base.begin(), base.end()) {}

LabelsBuilder& LabelsBuilder::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) {
    if (value.empty()) {
      labels_.erase(it);
    } else {
      it->value = value;
    }
  } else if (!value.empty()) {
    labels_.insert(it, Label{std::string(name), std::string(value)});
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::del(std::string_view name) { return set(name, {}); }

LabelsBuilder& LabelsBuilder::keep_only(const std::vector<std::string>& names) {
  std::erase_if(labels_,
                [&](const Label& l) { return std::find(names.begin(), names.end(), l.name) == names.end(); });
  return *this;
}

std::string_view LabelsBuilder::get(std::string_view name) const {
  for (const Label& l : labels_) {
    if (l.name == name) return l.value;
  }
  return {};
}

Labels LabelsBuilder::build() const {
  Labels::Writer out(labels_.size());
  for (const Label& l : labels_) out.add(l);
  return out.finish();
}

namespace {
bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !(name_start(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return name_char(c) || c == ':'; });
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !name_start(name[0])) return false;
  return std::all_of(name.begin(), name.end(), name_char);
}

std::string sanitize_metric_name(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && name[0] >= '0' && name[0] <= '9') out += '_';
  for (char c : name) out += (name_char(c) || c == ':') ? c : '_';
  if (out.empty()) out = "_";
  return out;
}

}  // namespace tocsin

namespace tocsin {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;  // the allowed range of the second byte (RFC 3629, table 3-7 of Unicode)
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;   // no overlongs
    if (b0 == 0xED) high = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;   // no overlongs
    if (b0 == 0xF4) high = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = utf8_sequence_length(s.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

bool Labels::values_valid_utf8() const {
  if (!rep_) return true;
  if (const std::uint8_t known = rep_->utf8.load(std::memory_order_relaxed); known != 0) return known == 1;
  const bool valid = std::all_of(begin(), end(), [](const Label& l) { return is_valid_utf8(l.value); });
  rep_->utf8.store(valid ? 1 : 2, std::memory_order_relaxed);
  return valid;
}

Labels with_valid_utf8_values(Labels labels) {
  if (labels.values_valid_utf8()) return labels;
  std::vector<Label> repaired(labels.begin(), labels.end());
  for (Label& l : repaired) {
    if (!is_valid_utf8(l.value)) l.value = to_valid_utf8(l.value);
  }
  return Labels::from_sorted(std::move(repaired));  // names and their order are unchanged
}

}  // namespace tocsin
