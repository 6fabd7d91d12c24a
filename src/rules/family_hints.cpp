#include "tocsin/rules/family_hints.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "rules/selected_names.hpp"

namespace tocsin::rules {

namespace {

constexpr std::size_t kNamesShown = 4;

// Written by tocsin itself, or by the rules: never a collector's to produce.
bool written_by_tocsin(std::string_view name, const std::set<std::string, std::less<>>& recorded) {
  return recorded.contains(name) || name == "ALERTS" || name == "ALERTS_FOR_STATE" ||
         name.starts_with("tocsin_") || name.starts_with("slo:");
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kNamesShown; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kNamesShown) out += " and " + std::to_string(names.size() - kNamesShown) + " more";
  return out;
}

detail::SelectedNames rule_selects(const RuleDefinition& rule) {
  detail::SelectedNames out;
  if (rule.slo) {
    for (const promql::ExprPtr* e :
         {&rule.slo->errors, &rule.slo->good, &rule.slo->total, &rule.slo->threshold}) {
      if (*e) detail::add_selected_names(**e, out);
    }
  } else if (rule.expr) {
    detail::add_selected_names(*rule.expr, out);
  }
  return out;
}

struct FileMisses {
  yaml::Position first;
  std::set<std::string> names;
};

}  // namespace

bool matches_family(const std::vector<std::string>& patterns, std::string_view family) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return !p.empty() && p.back() == '*' ? family.starts_with(std::string_view(p).substr(0, p.size() - 1))
                                         : family == p;
  });
}

void hint_family_coverage(const std::vector<GroupDefinition>& groups,
                          const std::vector<FamilySource>& sources, yaml::Diagnostics& diagnostics) {
  std::set<std::string, std::less<>> recorded;
  for (const auto& group : groups) {
    for (const auto& rule : group.rules) {
      if (rule.kind == RuleDefinition::Kind::recording) recorded.insert(rule.name);
    }
  }
  std::vector<bool> read(sources.size(), false);
  std::vector<std::string> file_order;
  std::map<std::string, FileMisses> misses;
  for (const auto& group : groups) {
    for (const auto& rule : group.rules) {
      const detail::SelectedNames selects = rule_selects(rule);
      if (selects.any || !selects.name_matchers.empty()) std::fill(read.begin(), read.end(), true);
      for (const std::string& name : selects.names) {
        bool produced = false;
        for (std::size_t i = 0; i < sources.size(); ++i) {
          if (!sources[i].families || matches_family(*sources[i].families, name)) {
            produced = true;
            read[i] = true;
          }
        }
        if (produced || written_by_tocsin(name, recorded)) continue;
        auto [it, added] = misses.try_emplace(group.file, FileMisses{rule.position, {}});
        if (added) file_order.push_back(group.file);
        it->second.names.insert(name);
      }
    }
  }
  for (const std::string& file : file_order) {
    const FileMisses& m = misses.at(file);
    const std::vector<std::string> names(m.names.begin(), m.names.end());
    diagnostics.warn(m.first, "",
                     "rules select metric families no configured collector produces: " + list_names(names) +
                         "; they stay silent until a collector (or a recording rule) provides them");
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const FamilySource& s = sources[i];
    if (read[i] || !s.families || s.families->empty()) continue;
    diagnostics.warn(s.position, s.path,
                     "no rule reads the " + s.kind + " collector \"" + s.name + "\"'s families (" +
                         list_names(*s.families) +
                         "): it is collected and exported but nothing alerts on it; add a rule file that "
                         "reads them to rule_files, or remove the collector");
  }
}

}  // namespace tocsin::rules
