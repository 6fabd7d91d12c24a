#pragma once
// Label sets: the identity of a time series, `__name__` included, as in Prometheus.

#include <algorithm>
#include <atomic>
#include <compare>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tocsin {

inline constexpr std::string_view kMetricNameLabel = "__name__";

struct Label {
  std::string name;
  std::string value;

  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

// An immutable set of labels, sorted by name, names unique, no empty values (an empty value means
// "absent", as in Prometheus). A set is one allocation (a small header, then the labels); copies
// share it by a reference count, no strings copied, so a collector's cache, a batch and a query
// result can hold the same set. Its hash and UTF-8 check are computed once and kept with it.
class Labels {
 public:
  class Writer;

  Labels() = default;
  // Sorts; later duplicates of a name replace earlier ones; empty values are dropped.
  Labels(std::initializer_list<Label> labels);
  static Labels from_unsorted(std::vector<Label> labels);
  // Caller guarantees sorted, unique names, no empty values.
  static Labels from_sorted(std::vector<Label> labels);

  Labels(const Labels& other) noexcept : rep_(other.rep_) {
    if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Labels(Labels&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  Labels& operator=(const Labels& other) noexcept {
    Labels(other).swap(*this);
    return *this;
  }
  Labels& operator=(Labels&& other) noexcept {
    Labels(std::move(other)).swap(*this);
    return *this;
  }
  ~Labels() { release(); }
  void swap(Labels& other) noexcept { std::swap(rep_, other.rep_); }

  // The value of `name`, or "" when absent.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return !get(name).empty(); }
  std::string_view metric_name() const { return get(kMetricNameLabel); }

  std::size_t size() const { return rep_ != nullptr ? rep_->size : 0; }
  bool empty() const { return size() == 0; }
  const Label& operator[](std::size_t i) const { return begin()[i]; }
  const Label* begin() const { return rep_ != nullptr ? rep_->data() : nullptr; }
  const Label* end() const { return begin() + size(); }
  std::span<const Label> items() const { return {begin(), size()}; }

  // A 64-bit hash of names and values; equal sets hash equal. Stable across versions: alert
  // fingerprints written to state files and sent to receivers are made from it.
  std::uint64_t hash() const;
  // Hash over only the listed names (`on`) or all but the listed names (`ignoring`), as PromQL's
  // vector matching needs. `names` must be sorted.
  std::uint64_t hash_for(const std::vector<std::string>& names, bool include) const;

  // `name{a="b", c="d"}` as Prometheus prints series (values escaped).
  std::string to_string() const;

  // Whether every value is well-formed UTF-8 (checked once per set, then kept with it).
  bool values_valid_utf8() const;

  // Whether both are copies of one non-empty label set (not merely equal ones): what a cache
  // that holds label sets between cycles can be recognised by.
  bool shares_with(const Labels& other) const { return rep_ != nullptr && rep_ == other.rep_; }

  friend bool operator==(const Labels& a, const Labels& b) {
    return a.rep_ == b.rep_ || std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  friend std::strong_ordering operator<=>(const Labels& a, const Labels& b) {
    if (a.rep_ == b.rep_) return std::strong_ordering::equal;
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  // The header of a set; its labels follow it in the same allocation.
  struct Rep {
    std::atomic<std::uint32_t> refs{1};
    std::uint32_t size = 0;
    std::uint32_t capacity = 0;
    mutable std::atomic<std::uint8_t> utf8{0};  // 0 not checked yet, 1 valid, 2 not
    mutable std::atomic<bool> hashed{false};
    mutable std::atomic<std::uint64_t> hash{0};
    Label* data() { return reinterpret_cast<Label*>(this + 1); }
    const Label* data() const { return reinterpret_cast<const Label*>(this + 1); }
  };
  static_assert(sizeof(Rep) % alignof(Label) == 0);
  static Rep* allocate(std::size_t capacity);
  static void destroy(Rep* rep) noexcept;
  void release() noexcept {
    if (rep_ != nullptr && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(rep_);
  }

  Rep* rep_ = nullptr;  // null when empty
};

// Writes a set in place, in name order (the caller's guarantee, as for from_sorted): one
// allocation for the whole set, for the hot paths that make one from parts (the store's
// selections, PromQL's results).
class Labels::Writer {
 public:
  explicit Writer(std::size_t capacity);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Throws std::length_error past the capacity. An empty value is left out (it means absent).
  void add(std::string_view name, std::string_view value);
  void add(const Label& label) { add(label.name, label.value); }
  void add(Label&& label);
  Labels finish();  // the writer is empty afterwards

 private:
  Rep* rep_;
};

// Builds a Labels from a base set with edits; set("x", "") deletes x.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(const Labels& base);
  LabelsBuilder& set(std::string_view name, std::string_view value);
  LabelsBuilder& del(std::string_view name);
  // Keep only the listed names (or drop them when keep=false).
  LabelsBuilder& keep_only(const std::vector<std::string>& names);
  std::string_view get(std::string_view name) const;
  Labels build() const;

 private:
  std::vector<Label> labels_;  // sorted by name
};

// Prometheus naming rules.
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);
// Replaces every character that is not valid in a metric name with '_' (and prefixes '_' to a
// leading digit): for names derived from data, like custom SQL column names.
std::string sanitize_metric_name(std::string_view name);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);
// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD, as Prometheus
// requires label values to be UTF-8 (a scrape with one invalid value fails whole).
std::string to_valid_utf8(std::string_view s);
// `labels` with every value made valid UTF-8; unchanged (and not copied) when all already are.
Labels with_valid_utf8_values(Labels labels);

// Appends `value` escaped for the exposition format / PromQL string syntax (\\, \", \n).
void append_escaped_label_value(std::string& out, std::string_view value);

}  // namespace tocsin
