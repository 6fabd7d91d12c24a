#pragma once
// Rule files in Prometheus's format (`groups:` of recording and alerting rules), plus tocsin's
// extensions on alerting rules: severity `tiers`, hysteresis (`clear`) and `escalation`; and `slos:`
// (docs/slo.md), each of which becomes a group "slo:<name>" of one SloRule.
// Loading validates everything and reports every error with file:line:column.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/promql/ast.hpp"
#include "tocsin/rules/template.hpp"
#include "tocsin/slo/definition.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

// A threshold on the rule expression's value: `above: 0.8` (value > 0.8), `at_least: 0.8` (>=),
// `below: 0.2` (<) or `at_most: 0.2` (<=).
struct Threshold {
  enum class Direction { above, below } direction = Direction::above;
  bool inclusive = false;  // at_least / at_most
  double value = 0;
  bool holds(double v) const {
    if (direction == Direction::above) return inclusive ? v >= value : v > value;
    return inclusive ? v <= value : v < value;
  }
  std::string to_string() const;  // "above 0.8", "at_least 0.8"
};

// One severity tier of a tiered alerting rule.
struct Tier {
  std::string severity;  // the `severity` label while this tier is active
  Threshold threshold;
  Duration for_duration{0};
};

// How a firing tiered alert resolves: only after `threshold` held for `for_duration`.
struct Clear {
  Threshold threshold;
  Duration for_duration{0};
};

struct RuleDefinition {
  enum class Kind { recording, alerting } kind = Kind::recording;
  std::string name;  // `record:` or `alert:`
  std::string expr_text;
  promql::ExprPtr expr;
  Duration for_duration{0};
  Duration keep_firing_for{0};
  std::vector<std::pair<std::string, Template>> labels;               // sorted by name
  std::vector<std::pair<std::string, Template>> annotations;          // sorted by name
  std::vector<std::pair<std::string, std::string>> label_texts;       // as written, for the API
  std::vector<std::pair<std::string, std::string>> annotation_texts;  // as written, for the API
  std::vector<Tier> tiers;  // least to most severe; empty for plain rules
  std::optional<Clear> clear;
  std::string escalation;
  yaml::Position position;
  // An SLO (the file's `slos:`): set on the one rule of the group "slo:<name>" the SLO becomes; the rule
  // is then an SloRule (slo_rule.hpp), of kind alerting, named after the SLO's burn alert.
  std::shared_ptr<const slo::Definition> slo;
};

struct GroupDefinition {
  std::string file;
  std::string name;
  std::optional<Duration> interval;  // default: the global evaluation interval
  std::size_t limit = 0;             // 0: no limit on series/alerts per rule
  Duration query_offset{0};          // queries run this far in the past (Prometheus 3's query_offset)
  std::vector<RuleDefinition> rules;
  std::string key() const { return file + ";" + name; }  // as Prometheus names groups
};

// Loads every file; errors go to `diagnostics` (the result then holds what could be read).
std::vector<GroupDefinition> load_rule_files(const std::vector<std::string>& files,
                                             yaml::Diagnostics& diagnostics);
std::vector<GroupDefinition> parse_rule_text(const std::string& text, const std::string& file,
                                             yaml::Diagnostics& diagnostics);

// Expands rule_files globs relative to base_dir, sorted and without repeats. A pattern that matches
// nothing is not an error (as in Prometheus); a malformed one is.
std::vector<std::string> expand_rule_globs(const std::vector<std::string>& patterns,
                                           const std::string& base_dir, const std::string& config_file,
                                           yaml::Diagnostics& diagnostics);

}  // namespace tocsin::rules
