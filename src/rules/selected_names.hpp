#pragma once
// Which metric names a rule group's expressions can select, so that a collector's commit triggers
// only the groups that may see its samples (RuleManager::samples_committed).

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/rules/rule_file.hpp"
#include "tocsin/store/matcher.hpp"

namespace tocsin::rules::detail {

// Over every selector of every rule: the names of `__name__="..."` matchers, the selectors that
// constrain `__name__` otherwise (a regex, a negation; all their `__name__` matchers must match), and
// whether one selector has no `__name__` matcher at all (it may select a series of any name).
struct SelectedNames {
  bool any = false;
  std::set<std::string, std::less<>> names;
  std::vector<std::vector<store::Matcher>> name_matchers;
  bool empty() const { return !any && names.empty() && name_matchers.empty(); }
  // Whether some selector may select a series named `metric_name`.
  bool may_select(std::string_view metric_name) const;
};

// A rule without an expression (an SLO's, whose queries are its own) selects nothing here.
SelectedNames selected_names(const GroupDefinition& group);
// Adds what one expression selects to `out`.
void add_selected_names(const promql::Expr& expr, SelectedNames& out);

}  // namespace tocsin::rules::detail
