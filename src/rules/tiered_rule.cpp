#include "tocsin/rules/tiered_rule.hpp"

#include <algorithm>

namespace tocsin::rules {

namespace {
using alerting::AlertState;
}  // namespace

Labels TieredRule::identity(const Labels& labels) const {
  LabelsBuilder b(labels);
  b.del("severity");
  return b.build();
}

AlertingRule::Transition TieredRule::advance(AlertInstance& a, bool present, const EvalContext& ctx,
                                             std::string& template_error) {
  const RuleDefinition& rule = definition();
  const Timestamp t = ctx.time;
  Transition step = Transition::stay;
  // Since when each threshold holds.
  a.tier_since.resize(rule.tiers.size(), AlertInstance::kNever);
  int satisfied = -1;  // the most severe tier held for its `for`
  int target = -1;     // firing: the tier to be at now
  bool any = false;
  for (std::size_t k = 0; k < rule.tiers.size(); ++k) {
    const bool holds = present && rule.tiers[k].threshold.holds(a.value);
    if (!holds) {
      a.tier_since[k] = AlertInstance::kNever;
      continue;
    }
    if (a.tier_since[k] == AlertInstance::kNever) a.tier_since[k] = t;
    any = true;
    const bool held = t - a.tier_since[k] >= rule.tiers[k].for_duration.count();
    if (held) satisfied = static_cast<int>(k);
    if (held || static_cast<int>(k) <= a.tier) target = static_cast<int>(k);
  }
  if (rule.clear) {
    const bool holds = present && rule.clear->threshold.holds(a.value);
    a.clear_since =
        holds ? (a.clear_since != AlertInstance::kNever ? a.clear_since : t) : AlertInstance::kNever;
  }
  if (a.state == AlertState::firing) {
    bool done;
    if (!present) {
      done = true;
    } else if (rule.clear) {
      done = a.clear_since != AlertInstance::kNever && t - a.clear_since >= rule.clear->for_duration.count();
    } else {
      done = !any;
    }
    if (done) {
      bool keep_firing = false;
      if (rule.keep_firing_for > Duration(0)) {
        if (a.keep_firing_since == AlertInstance::kNever) a.keep_firing_since = t;
        keep_firing = t - a.keep_firing_since < rule.keep_firing_for.count();
      }
      if (!keep_firing) step = Transition::resolve;
    } else {
      a.keep_firing_since = AlertInstance::kNever;
      // Only a more severe tier holds, not yet for its `for`: stay. Below every tier but not
      // cleared: the lowest.
      const int tier = target >= 0 ? target : any ? a.tier : 0;
      if (tier != a.tier) {
        a.tier = tier;
        a.fired_at = t;
      }
    }
  } else if (satisfied >= 0) {
    a.state = AlertState::firing;
    a.tier = satisfied;
    a.fired_at = t;
  } else if (!any) {
    return Transition::drop;
  } else {
    Timestamp first = t;
    for (Timestamp s : a.tier_since) {
      if (s != AlertInstance::kNever) first = std::min(first, s);
    }
    a.active_at = std::min(a.active_at, first);
  }
  // A pending alert carries the severity it is heading for: the most severe tier that holds now.
  int shown = a.tier;
  if (a.state == AlertState::pending) {
    for (std::size_t k = 0; k < rule.tiers.size(); ++k) {
      if (a.tier_since[k] != AlertInstance::kNever) shown = static_cast<int>(k);
    }
  }
  LabelsBuilder b(a.labels);
  b.del("severity");
  if (shown >= 0) b.set("severity", rule.tiers[static_cast<std::size_t>(shown)].severity);
  a.labels = b.build();
  // Annotations see the result sample's labels and the tier's severity.
  if (present) {
    LabelsBuilder seen(a.sample_labels);
    if (shown >= 0) seen.set("severity", rule.tiers[static_cast<std::size_t>(shown)].severity);
    a.annotations = render_annotations(seen.build(), a.value, ctx, template_error);
  }
  return step;
}

}  // namespace tocsin::rules
