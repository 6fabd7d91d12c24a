#pragma once
// Label sets: the identity of a time series, `__name__` included, as in Prometheus.

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
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
// "absent", as in Prometheus). Cheap to move; copying copies the strings.
class Labels {
 public:
  Labels() = default;
  // Sorts; later duplicates of a name replace earlier ones; empty values are dropped.
  Labels(std::initializer_list<Label> labels);
  static Labels from_unsorted(std::vector<Label> labels);
  // Caller guarantees sorted, unique names, no empty values.
  static Labels from_sorted(std::vector<Label> labels);

  // The value of `name`, or "" when absent.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return !get(name).empty(); }
  std::string_view metric_name() const { return get(kMetricNameLabel); }

  std::size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  const Label& operator[](std::size_t i) const { return labels_[i]; }
  auto begin() const { return labels_.begin(); }
  auto end() const { return labels_.end(); }
  const std::vector<Label>& items() const { return labels_; }

  // A 64-bit hash of names and values; equal sets hash equal.
  std::uint64_t hash() const;
  // Hash over only the listed names (`on`) or all but the listed names (`ignoring`), as PromQL's
  // vector matching needs. `names` must be sorted.
  std::uint64_t hash_for(const std::vector<std::string>& names, bool include) const;

  // `name{a="b", c="d"}` as Prometheus prints series (values escaped).
  std::string to_string() const;

  friend bool operator==(const Labels&, const Labels&) = default;
  friend auto operator<=>(const Labels&, const Labels&) = default;

 private:
  std::vector<Label> labels_;
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
