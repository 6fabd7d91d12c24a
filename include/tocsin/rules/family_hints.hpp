#pragma once
// Hints for a config that would watch nothing without saying so (`tocsin check` and start-up): rules
// whose expressions select metric families no configured collector produces, and collectors whose
// families no rule reads. By family name only (a label the rule matches on is not checked), and as
// warnings: a family may come from elsewhere (a remote write, a scrape target added later).

#include <optional>
#include <string>
#include <vector>

#include "tocsin/rules/rule_file.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::rules {

// What one collector instance produces, as the config describes it (rules/ does not know collectors).
struct FamilySource {
  std::string kind;  // "redis"
  std::string name;  // the instance's name
  yaml::Position position;
  std::string path;  // collectors.redis[0]
  // Exact family names, or prefixes ending in '*' ("redis_*"); nullopt: it may produce any name.
  std::optional<std::vector<std::string>> families;
};

// Whether `family` matches one of `patterns` (exact, or a prefix ending in '*').
bool matches_family(const std::vector<std::string>& patterns, std::string_view family);

// Adds the hints as warnings: one per rule file whose rules select families nothing produces
// (naming a few of them), one per collector instance no rule reads. Never hints for a family a
// recording rule or an SLO writes, for ALERTS / ALERTS_FOR_STATE, or for tocsin_* (tocsin's own).
// A selector that constrains the name by a regex, or not at all, counts as reading every collector.
void hint_family_coverage(const std::vector<GroupDefinition>& groups,
                          const std::vector<FamilySource>& sources, yaml::Diagnostics& diagnostics);

}  // namespace tocsin::rules
