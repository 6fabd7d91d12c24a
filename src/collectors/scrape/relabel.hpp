#pragma once
// Prometheus's relabelling (model/relabel in prometheus/prometheus), as a pure module: rules are
// compiled once from the config, then applied in order to a sorted label set. The same code serves
// relabel_configs (the target's labels, before the scrape) and metric_relabel_configs (each sample).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/core/labels.hpp"

namespace re2 {
class RE2;
}

namespace tocsin::collectors::scrape {

enum class RelabelAction {
  replace,
  keep,
  drop,
  keepequal,
  dropequal,
  hashmod,
  labelmap,
  labeldrop,
  labelkeep,
  lowercase,
  uppercase,
};

std::optional<RelabelAction> parse_relabel_action(std::string_view name);  // case-insensitive
std::string_view to_string(RelabelAction action);

// One rule, with Prometheus's defaults. Build it, then call compile() before apply().
struct RelabelRule {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string regex = "(.*)";  // as written; matched anchored, as ^(?:regex)$
  std::uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::replace;

  // Compiles the regex (RE2, Go's syntax) and checks the rule as Prometheus's Validate() does.
  // Returns the problem, or nullopt when the rule is usable.
  std::optional<std::string> compile();

  std::shared_ptr<const re2::RE2> compiled;  // set by compile()
  bool regex_is_default = true;              // set by compile()
};

// A label set being relabelled: sorted by name, no empty values (setting "" deletes).
class RelabelLabels {
 public:
  RelabelLabels() = default;
  explicit RelabelLabels(std::vector<Label> sorted) : labels_(std::move(sorted)) {}
  void assign_sorted(std::vector<Label>&& sorted) { labels_ = std::move(sorted); }
  std::string_view get(std::string_view name) const;
  void set(std::string_view name, std::string_view value);
  void del(std::string_view name) { set(name, {}); }
  const std::vector<Label>& items() const { return labels_; }
  std::vector<Label>& mutable_items() { return labels_; }

 private:
  std::vector<Label> labels_;
};

// Applies `rules` in order; false when a rule dropped the set (its content is then unspecified).
bool relabel(std::span<const RelabelRule> rules, RelabelLabels& labels);

// Go's regexp.Expand of `tmpl` for a match of `re`: $1, ${1}, $name, ${name}, $$; an unknown or
// unmatched group expands to nothing, a malformed reference stays as written.
std::string expand_template(const re2::RE2& re, std::string_view tmpl,
                            std::span<const std::string_view> groups);

}  // namespace tocsin::collectors::scrape
