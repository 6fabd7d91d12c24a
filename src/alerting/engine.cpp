#include "engine.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace tocsin::alerting::detail {

namespace {

// Expired silences stay listed this long, as in Alertmanager.
constexpr Timestamp kSilenceRetention = 5LL * 24 * 3600 * 1000;
// A group's interval is the longest of its last few report gaps (one early evaluation, after a
// reload, must not shorten it); an alert is gone after this many intervals without a report.
constexpr std::size_t kReportGaps = 5;
constexpr Timestamp kMissedReports = 3;
// Until a group has reported twice its interval is unknown: its alerts wait this long rather than
// resolve_timeout, which a group evaluated less often would exceed before its second report.
constexpr Timestamp kUnknownInterval = 24LL * 3600 * 1000;

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

// Whether no older entry (their order keys are in `seen`) holds `e` back; adds e's keys to `seen`.
bool first_of_its_keys(const OutboxEntry& e, std::set<std::string>& seen) {
  bool first = true;
  for (auto& key : e.order_keys()) {
    if (!seen.insert(std::move(key)).second) first = false;
  }
  return first;
}

bool all_match(const std::vector<store::Matcher>& matchers, const Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const store::Matcher& m) { return m.matches(labels.get(m.name())); });
}

std::vector<store::Matcher> compile_matchers(const std::vector<config::LabelMatcher>& matchers) {
  std::vector<store::Matcher> out;
  for (const auto& m : matchers) out.emplace_back(m.type, m.name, m.value);
  return out;
}

}  // namespace

std::string problem_key(const Labels& labels) {
  return hex16(LabelsBuilder(labels).del("severity").build().hash());
}

std::string alert_id(const Alert& a) { return a.tiered ? problem_key(a.labels) : fingerprint(a.labels); }

Engine::Engine(config::AlertingConfig config, std::string external_url, std::shared_ptr<spdlog::logger> log,
               Counter count)
    : config_(std::move(config)),
      external_url_(std::move(external_url)),
      log_(std::move(log)),
      count_(std::move(count)) {
  compile();
}

void Engine::reconfigure(config::AlertingConfig config, std::string external_url) {
  config_ = std::move(config);
  external_url_ = std::move(external_url);
  warned_policies_.clear();
  compile();
}

void Engine::compile() {
  // The config was validated when it was loaded: its regexes compile.
  routes_.clear();
  for (const auto& r : config_.routes) routes_.push_back({compile_matchers(r.matchers), &r});
  inhibits_.clear();
  for (const auto& r : config_.inhibit_rules) {
    inhibits_.push_back({compile_matchers(r.source_matchers), compile_matchers(r.target_matchers), r.equal});
  }
}

void Engine::restore(State state, Timestamp now) {
  state_ = std::move(state);
  for (auto& [fp, i] : state_.instances) {
    i.last_seen = now;
    if (i.legacy) dirty_ = true;  // an older format: rewritten in the current one at once
  }
  last_report_.clear();
  for (const auto& [group, gaps] : state_.report_gaps) last_report_[group] = now;
  silence_matchers_.clear();
  in_flight_.clear();
}

const config::ReceiverConfig* Engine::receiver(const std::string& name) const {
  auto it = config_.receivers.find(name);
  return it == config_.receivers.end() ? nullptr : &it->second;
}

bool Engine::is_receiver(const std::string& name, config::ReceiverType type) const {
  const auto* r = receiver(name);
  return r != nullptr && r->type == type;
}

int Engine::rank(const Instance& i) const {
  return config::severity_rank(config_.severities, i.labels.get("severity"));
}

Plan Engine::plan_for(const Instance& i) const {
  Plan plan;
  plan.group_by = config_.group_by;
  plan.group_wait = config_.group_wait;
  const config::RouteConfig* route = nullptr;
  for (std::size_t k = 0; k < routes_.size(); ++k) {
    if (all_match(routes_[k].matchers, i.labels)) {
      plan.route = static_cast<int>(k);
      route = routes_[k].route;
      break;
    }
  }
  if (route != nullptr) {
    if (route->group_by) plan.group_by = *route->group_by;
    if (route->group_wait) plan.group_wait = *route->group_wait;
    plan.mute_time_intervals = route->mute_time_intervals;
    plan.active_time_intervals = route->active_time_intervals;
  }
  // The rule's own policy wins over the route's, when it names one that exists.
  std::string policy = i.escalation;
  if (!policy.empty() && !config_.escalation_policies.contains(policy)) policy.clear();
  if (policy.empty() && route != nullptr) policy = route->policy;
  if (!policy.empty()) {
    const auto& p = config_.escalation_policies.at(policy);
    plan.policy = policy;
    plan.steps = p.steps;
    plan.repeat = p.repeat;
  } else if (route != nullptr) {
    plan.steps = {config::EscalationStep{Duration(0), route->notify}};
    plan.repeat = route->repeat;
  } else {
    plan.steps = {config::EscalationStep{Duration(0), {"log"}}};
  }
  return plan;
}

Timestamp Engine::step_time(const Instance& i, const Plan& plan, int k) const {
  int base = std::min(i.rearmed_step, static_cast<int>(plan.steps.size()) - 1);
  if (i.rearmed_at == 0 || base < 0 || k <= base) return i.fired_at + plan.steps[k].after.count();
  return i.rearmed_at + (plan.steps[k].after - plan.steps[base].after).count();
}

int Engine::due_step(const Instance& i, const Plan& plan, Timestamp now) const {
  int due = -1;
  for (std::size_t k = 0; k < plan.steps.size(); ++k) {
    if (step_time(i, plan, static_cast<int>(k)) <= now) due = static_cast<int>(k);
  }
  return due;
}

const AckRecord* Engine::ack_for(const Instance& i) const {
  auto it = state_.acks.find(problem_key(i.labels));
  if (it == state_.acks.end() || rank(i) > it->second.rank) return nullptr;
  return &it->second;
}

bool Engine::covered_by_ack(const Instance& i, Timestamp now) const {
  const AckRecord* a = ack_for(i);
  return a != nullptr && (a->ack.expires_at == 0 || now < a->ack.expires_at);
}

std::vector<std::string> Engine::silenced_by(const Labels& labels, Timestamp now) const {
  std::vector<std::string> out;
  for (const auto& [id, s] : state_.silences) {
    if (s.starts_at > now || s.ends_at <= now) continue;
    auto it = silence_matchers_.find(id);
    if (it == silence_matchers_.end()) it = silence_matchers_.emplace(id, compile_matchers(s.matchers)).first;
    if (all_match(it->second, labels)) out.push_back(id);
  }
  return out;
}

Engine::InhibitSources Engine::inhibit_sources() const {
  InhibitSources out(inhibits_.size());
  for (std::size_t r = 0; r < inhibits_.size(); ++r) {
    for (const auto& [fp, source] : state_.instances) {
      if (source.state == AlertState::firing && all_match(inhibits_[r].source, source.labels))
        out[r].push_back(&source);
    }
  }
  return out;
}

std::vector<std::string> Engine::inhibited_by(const Instance& target, const InhibitSources& sources) const {
  std::vector<std::string> out;
  for (std::size_t r = 0; r < inhibits_.size(); ++r) {
    const auto& rule = inhibits_[r];
    if (!all_match(rule.target, target.labels)) continue;
    for (const Instance* source : sources[r]) {
      if (source->fingerprint == target.fingerprint) continue;
      bool equal = std::all_of(rule.equal.begin(), rule.equal.end(), [&](const std::string& n) {
        return source->labels.get(n) == target.labels.get(n);
      });
      if (equal && std::find(out.begin(), out.end(), source->fingerprint) == out.end())
        out.push_back(source->fingerprint);
    }
  }
  return out;
}

std::string Engine::muted_by(const Plan& plan, Timestamp now) const {
  for (const auto& name : plan.mute_time_intervals) {
    auto it = config_.time_intervals.find(name);
    if (it != config_.time_intervals.end() && interval_contains(it->second, now)) return name;
  }
  if (!plan.active_time_intervals.empty()) {
    bool active = std::any_of(
        plan.active_time_intervals.begin(), plan.active_time_intervals.end(), [&](const auto& name) {
          auto it = config_.time_intervals.find(name);
          return it != config_.time_intervals.end() && interval_contains(it->second, now);
        });
    if (!active) return "outside " + plan.active_time_intervals.front();
  }
  return "";
}

int Engine::state_changes(const std::string& fingerprint, Timestamp now) const {
  auto it = state_.transitions.find(fingerprint);
  if (it == state_.transitions.end()) return 0;
  Timestamp since = now - config_.flapping.window.count();
  return static_cast<int>(
      std::count_if(it->second.begin(), it->second.end(), [&](Timestamp t) { return t > since; }));
}

bool Engine::flapping(const std::string& fingerprint, Timestamp now) const {
  return config_.flapping.enabled && state_changes(fingerprint, now) >= config_.flapping.changes;
}

void Engine::record_transition(const std::string& fingerprint, Timestamp now) {
  auto& times = state_.transitions[fingerprint];
  times.push_back(now);
  Timestamp since = now - config_.flapping.window.count();
  times.erase(times.begin(),
              std::find_if(times.begin(), times.end(), [&](Timestamp t) { return t > since; }));
}

void Engine::start_episode(Instance& i, const Alert& a, Timestamp now) {
  i.state = AlertState::firing;
  i.fired_at = a.fired_at != 0 ? a.fired_at : now;
  i.resolved_at = 0;
  i.notified_step = -1;
  i.repeats = 0;
  i.last_notified_at = 0;
  i.rearm = false;
  i.rearmed_at = 0;
  i.rearmed_step = -1;
  i.ack_notified = false;
  i.receivers.clear();
  i.resent_at.clear();
  i.tier_since = i.fired_at;
  i.notified_severity.clear();
  i.notified_tier = -1;
  i.previous_severity.clear();
  i.quiet_step = false;
  record_transition(i.fingerprint, now);
  dirty_ = true;
}

Timestamp Engine::stale_after(const std::string& rule_group) const {
  Timestamp after = config_.resolve_timeout.count();
  if (auto it = state_.report_gaps.find(rule_group); it != state_.report_gaps.end() && !it->second.empty()) {
    after = std::max(after, kMissedReports * *std::max_element(it->second.begin(), it->second.end()));
  } else if (last_report_.contains(rule_group)) {
    after = std::max(after, kUnknownInterval);  // reported once since the start
  }
  return after;
}

void Engine::note_report(const std::string& rule_group, Timestamp now) {
  auto [last, first] = last_report_.try_emplace(rule_group, now);
  if (first || now <= last->second) return;
  auto& gaps = state_.report_gaps[rule_group];
  Timestamp before = gaps.empty() ? 0 : *std::max_element(gaps.begin(), gaps.end());
  gaps.push_back(now - last->second);
  if (gaps.size() > kReportGaps) gaps.erase(gaps.begin());
  last->second = now;
  if (*std::max_element(gaps.begin(), gaps.end()) != before) lazy_dirty_ = true;
}

void Engine::ingest(const std::string& rule_group, const std::vector<Alert>& alerts, Timestamp now) {
  note_report(rule_group, now);
  std::set<std::string> reported;
  for (const Alert& a : alerts) {
    if (a.state == AlertState::resolved) {
      if (a.tiered) migrate_legacy(a);
      auto it = state_.instances.find(alert_id(a));
      if (it != state_.instances.end() && it->second.state != AlertState::resolved) {
        it->second.value = a.value;
        resolve(it->second, a.resolved_at != 0 ? a.resolved_at : now, now);
      }
      continue;
    }
    reported.insert(absorb(rule_group, a, now));
  }
  resolve_unreported(rule_group, reported, now);
}

void Engine::migrate_legacy(const Alert& a) {
  const std::string id = alert_id(a);
  if (state_.instances.contains(id)) return;
  // A format-1 file keyed this tiered alert by all its labels, severity included, as it stood then.
  // Several can match (a firing critical and the warning it replaced, held resolved for flapping):
  // the firing one becomes the incident, and the others go quietly, as the old format had already told
  // receivers of their end; resolving them now would say "resolved" while the incident fires.
  auto matches = [&](const Instance& i) {
    return i.legacy && i.rule_group == a.rule_group && i.rule_name == a.rule_name &&
           problem_key(i.labels) == id;
  };
  auto old = state_.instances.end();
  for (auto it = state_.instances.begin(); it != state_.instances.end(); ++it) {
    if (!matches(it->second) || it->second.state == AlertState::pending) continue;
    if (old == state_.instances.end() ||
        (it->second.state == AlertState::firing && old->second.state != AlertState::firing)) {
      old = it;
    }
  }
  if (old == state_.instances.end()) return;
  for (auto it = state_.instances.begin(); it != state_.instances.end();) {
    if (it != old && matches(it->second)) {
      state_.transitions.erase(it->first);
      it = state_.instances.erase(it);
    } else {
      ++it;
    }
  }
  const std::string before = old->first;
  Instance moved = std::move(old->second);
  state_.instances.erase(old);
  moved.fingerprint = id;
  moved.legacy = false;
  moved.tiered = true;
  log_->info(
      "alert {} {} of tiered rule {} is now alert {}: one id across its tiers (state from an older "
      "tocsin)",
      before, moved.labels.to_string(), a.rule_name, id);
  if (auto t = state_.transitions.find(before); t != state_.transitions.end()) {
    state_.transitions[id] = std::move(t->second);
    state_.transitions.erase(before);
  }
  // Queued notifications go on under the new id, so that they keep their order with the next ones.
  for (auto& [eid, e] : state_.outbox) {
    for (auto& n : e.notification.alerts) {
      if (n.fingerprint == before) n.fingerprint = id;
    }
  }
  for (auto& [key, ack] : state_.acks) {
    if (ack.fingerprint == before) ack.fingerprint = id;
  }
  state_.instances.emplace(id, std::move(moved));
  dirty_ = true;
}

std::string Engine::absorb(const std::string& rule_group, const Alert& a, Timestamp now) {
  if (a.tiered) migrate_legacy(a);
  std::string fp = alert_id(a);
  auto it = state_.instances.find(fp);
  if (it == state_.instances.end()) {
    Instance i;
    i.fingerprint = fp;
    i.active_at = a.active_at;
    it = state_.instances.emplace(fp, std::move(i)).first;
    dirty_ = true;
  }
  Instance& i = it->second;
  if (a.tiered && a.state == AlertState::pending && i.state == AlertState::firing) {
    // Reported pending again (its rule's `for` clock restarted): it goes on at the tier it fired at,
    // not the one the pending alert heads for.
    i.labels = LabelsBuilder(a.labels).set("severity", std::string(i.labels.get("severity"))).build();
  } else {
    i.labels = a.labels;
    i.tier = a.tier;
  }
  i.annotations = a.annotations;
  i.value = a.value;
  i.rule_group = rule_group;
  i.rule_name = a.rule_name;
  if (i.escalation != a.escalation) dirty_ = true;
  i.escalation = a.escalation;
  i.last_seen = now;
  i.legacy = false;
  if (i.tiered != a.tiered) dirty_ = true;
  i.tiered = a.tiered;
  if (a.tiered && a.state == AlertState::firing && i.state != AlertState::pending && a.fired_at != 0 &&
      a.fired_at != i.tier_since) {
    // The same incident at another tier (its rule's fired_at is when the tier began): the escalation
    // clock stays (fired_at); change_tier tells receivers at the next decision.
    i.tier_since = a.fired_at;
    dirty_ = true;
  }
  if (a.state == AlertState::pending) {
    // A firing instance reported pending again was restored from disk (the rule engine's `for`
    // clock restarted with the daemon) or is settling after flapping: it keeps its episode.
    if (i.state == AlertState::pending) i.active_at = a.active_at;
    return fp;
  }
  if (i.state == AlertState::pending) {
    i.active_at = a.active_at;
    start_episode(i, a, now);
  } else if (i.state == AlertState::resolved) {
    // Fired again while its resolve was held back for flapping: the same episode goes on.
    i.state = AlertState::firing;
    i.resolved_at = 0;
    record_transition(fp, now);
    dirty_ = true;
  } else if (i.restored && a.fired_at != 0 && a.fired_at < i.fired_at) {
    i.fired_at = a.fired_at;
    dirty_ = true;
  }
  i.restored = false;
  return fp;
}

void Engine::resolve_unreported(const std::string& rule_group, const std::set<std::string>& reported,
                                Timestamp now) {
  // An alert missing from its group's report without a resolve is gone: its rule was removed or
  // changed its labels. (A tiered rule's alert moving to another tier keeps its id: it is reported.)
  std::vector<std::string> gone;
  for (auto& [fp, i] : state_.instances) {
    if (i.rule_group == rule_group && !reported.contains(fp) && i.state != AlertState::resolved)
      gone.push_back(fp);
  }
  for (const auto& fp : gone) resolve(state_.instances.at(fp), now, now);
}

void Engine::resolve(Instance& i, Timestamp resolved_at, Timestamp now) {
  if (i.state == AlertState::pending) {
    state_.instances.erase(i.fingerprint);
    dirty_ = true;
    return;
  }
  record_transition(i.fingerprint, now);
  i.resolved_at = resolved_at;
  dirty_ = true;
  if (flapping(i.fingerprint, now) && config_.flapping.settle.count() > 0) {
    // Damped: the resolve goes out only once the alert has stayed resolved for `settle`.
    i.state = AlertState::resolved;
    return;
  }
  finish_resolve(i.fingerprint, now);
}

void Engine::finish_resolve(const std::string& fingerprint, Timestamp now) {
  auto it = state_.instances.find(fingerprint);
  if (it == state_.instances.end()) return;
  Instance& i = it->second;
  i.state = AlertState::resolved;
  if (i.resolved_at == 0) i.resolved_at = now;
  std::vector<std::string> to;
  for (const auto& r : i.receivers) {
    const auto* rc = receiver(r);
    if (rc != nullptr && rc->send_resolved) to.push_back(r);
  }
  if (!to.empty()) emit({&i, AlertEvent::resolved, i.notified_step, to}, now);
  state_.instances.erase(it);
  dirty_ = true;
}

NotifiedAlert Engine::notified(const Instance& i, const Plan& plan, AlertEvent event, int step,
                               Timestamp now) const {
  NotifiedAlert a;
  a.fingerprint = i.fingerprint;
  a.labels = i.labels;
  if (!config_.external_labels.empty()) {
    // The daemon's identity, so on-call sees which host paged; the alert's own labels win, and the
    // fingerprint (the alert's identity across restarts and reloads) does not include them.
    LabelsBuilder with_host(i.labels);
    for (const auto& [name, value] : config_.external_labels) {
      if (!i.labels.has(name)) with_host.set(name, value);
    }
    a.labels = with_host.build();
  }
  a.annotations = i.annotations;
  a.status = i.state == AlertState::resolved ? "resolved" : "firing";
  a.event = event;
  a.starts_at = i.fired_at;
  a.ends_at = i.state == AlertState::resolved ? i.resolved_at : 0;
  a.value = i.value;
  a.rule_group = i.rule_group;
  a.escalation.policy = plan.policy;
  a.escalation.steps = static_cast<int>(plan.steps.size());
  if (step >= 0 && step < static_cast<int>(plan.steps.size())) {
    a.escalation.step = step + 1;
    a.escalation.step_at = step_time(i, plan, step);
    if (step + 1 < static_cast<int>(plan.steps.size())) {
      a.escalation.next_step_at = step_time(i, plan, step + 1);
      a.escalation.next_receivers = plan.steps[step + 1].notify;
    }
  }
  if (const AckRecord* ack = ack_for(i); ack != nullptr && event != AlertEvent::rearmed) a.ack = ack->ack;
  a.tiered = i.tiered;
  if (flapping(i.fingerprint, now)) {
    a.flapping_changes = state_changes(i.fingerprint, now);
    a.flapping_window = config_.flapping.window.count();
  }
  return a;
}

void Engine::emit(const Event& e, Timestamp now, const std::string& previous_severity) {
  Plan plan = plan_for(*e.instance);
  NotifiedAlert alert = notified(*e.instance, plan, e.event, e.step, now);
  alert.previous_severity = previous_severity;
  for (const auto& r : e.receivers) {
    if (receiver(r) == nullptr) continue;
    enqueue(r, plan, *e.instance, alert, e.resend, now);
  }
}

void Engine::enqueue(const std::string& receiver_name, const Plan& plan, const Instance& i,
                     NotifiedAlert alert, bool resend, Timestamp now) {
  LabelsBuilder group(i.labels);
  std::vector<std::string> names = plan.group_by;
  std::sort(names.begin(), names.end());
  group.keep_only(names);
  Labels group_labels = group.build();
  std::string group_key = "route" + std::to_string(plan.route) + ":" + group_labels.to_string();
  dirty_ = true;
  if (resend) {
    // A refresh only restates that the alert fires: at most one waits per receiver and group, and a
    // newer one replaces the alert in it (even while it is retried through an outage), rather than
    // queueing another behind it at every resend interval.
    for (auto& [id, e] : state_.outbox) {
      if (!e.resend || e.receiver != receiver_name || e.group_key != group_key || in_flight_.contains(id))
        continue;
      auto& alerts = e.notification.alerts;
      auto same = std::find_if(alerts.begin(), alerts.end(),
                               [&](const NotifiedAlert& a) { return a.fingerprint == alert.fingerprint; });
      if (same != alerts.end()) {
        *same = std::move(alert);
      } else {
        alerts.push_back(std::move(alert));
      }
      return;
    }
  }
  // Join the newest entry of the same receiver and group while it waits out group_wait (or was made
  // in this same pass) and has not been tried yet, unless a newer entry of the receiver carries the
  // alert (order per alert); an alert appears at most once per entry.
  for (auto it = state_.outbox.rbegin(); it != state_.outbox.rend(); ++it) {
    OutboxEntry& e = it->second;
    if (e.receiver != receiver_name) continue;
    if (e.group_key != group_key) {
      if (e.carries(alert.fingerprint)) break;
      continue;
    }
    bool open =
        e.attempts == 0 && !in_flight_.contains(e.id) && (e.next_attempt_at > now || e.created_at == now);
    if (!open || e.resend != resend) break;
    auto& alerts = e.notification.alerts;
    auto same = std::find_if(alerts.begin(), alerts.end(),
                             [&](const NotifiedAlert& a) { return a.fingerprint == alert.fingerprint; });
    if (same != alerts.end()) {
      if (!resend) break;
      *same = std::move(alert);  // a newer refresh of the same alert replaces the queued one
    } else {
      alerts.push_back(std::move(alert));
    }
    return;
  }
  OutboxEntry e;
  e.id = state_.next_entry_id++;
  e.receiver = receiver_name;
  e.group_key = group_key;
  e.resend = resend;
  e.created_at = now;
  e.next_attempt_at = now + plan.group_wait.count();
  e.expires_at = now + config_.outbox.expiry.count();
  e.notification.receiver = receiver_name;
  e.notification.group_key = group_key;
  e.notification.group_labels = std::move(group_labels);
  e.notification.external_url = external_url_;
  e.notification.created_at = now;
  e.notification.alerts.push_back(std::move(alert));
  state_.outbox.emplace(e.id, std::move(e));
}

void Engine::evaluate(Timestamp now) {
  const std::set<std::string> groups = groups_with_alerts();
  resolve_stale_alerts(now);
  forget_silent_groups(groups, now);
  settle_flapping(now);
  expire_acknowledgements(now);
  prune_silences_and_transitions(now);
  // Inhibition by the alerts firing after the passes above, the same sources for every target.
  const InhibitSources sources = inhibit_sources();
  for (auto& [fp, i] : state_.instances) {
    if (i.state == AlertState::firing) advance(i, sources, now);
  }
  maintain_outbox(now);
}

std::set<std::string> Engine::groups_with_alerts() const {
  std::set<std::string> groups;
  for (const auto& [fp, i] : state_.instances) groups.insert(i.rule_group);
  return groups;
}

void Engine::resolve_stale_alerts(Timestamp now) {
  // Alerts their rule group has not reported for resolve_timeout, or several of the group's
  // intervals when it is evaluated less often (the group was removed), are gone.
  std::vector<std::string> stale;
  for (auto& [fp, i] : state_.instances) {
    if (i.state != AlertState::resolved && now - i.last_seen > stale_after(i.rule_group)) stale.push_back(fp);
  }
  for (const auto& fp : stale) {
    const Instance& i = state_.instances.at(fp);
    log_->info("alert {} {} was not reported for {}; resolving it", fp, i.labels.to_string(),
               format_duration(Duration(now - i.last_seen)));
    resolve(state_.instances.at(fp), now, now);
  }
}

void Engine::forget_silent_groups(const std::set<std::string>& groups, Timestamp now) {
  // The intervals of groups that have no alerts and stopped reporting (removed) are forgotten.
  for (auto it = state_.report_gaps.begin(); it != state_.report_gaps.end();) {
    auto last = last_report_.find(it->first);
    if (!groups.contains(it->first) &&
        (last == last_report_.end() || now - last->second > stale_after(it->first))) {
      if (last != last_report_.end()) last_report_.erase(last);
      it = state_.report_gaps.erase(it);
      lazy_dirty_ = true;
    } else {
      ++it;
    }
  }
}

void Engine::settle_flapping(Timestamp now) {
  std::vector<std::string> settled;
  for (auto& [fp, i] : state_.instances) {
    if (i.state == AlertState::resolved && i.resolved_at + config_.flapping.settle.count() <= now)
      settled.push_back(fp);
  }
  for (const auto& fp : settled) finish_resolve(fp, now);
}

void Engine::expire_acknowledgements(Timestamp now) {
  for (auto it = state_.acks.begin(); it != state_.acks.end();) {
    bool expired = it->second.ack.expires_at != 0 && it->second.ack.expires_at <= now;
    bool any = false;
    for (auto& [fp, i] : state_.instances) {
      if (problem_key(i.labels) != it->first) continue;
      any = true;
      if (expired && rank(i) <= it->second.rank && i.state == AlertState::firing) {
        i.rearm = true;
        i.ack_notified = false;
      }
    }
    if (expired || !any) {
      if (expired)
        log_->info("acknowledgement of {} by {} expired", it->second.fingerprint, it->second.ack.by);
      it = state_.acks.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

void Engine::prune_silences_and_transitions(Timestamp now) {
  for (auto it = state_.silences.begin(); it != state_.silences.end();) {
    if (it->second.ends_at + kSilenceRetention < now) {
      silence_matchers_.erase(it->first);
      it = state_.silences.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
  for (auto it = state_.transitions.begin(); it != state_.transitions.end();) {
    if (it->second.empty() || it->second.back() <= now - config_.flapping.window.count()) {
      it = state_.transitions.erase(it);
    } else {
      ++it;
    }
  }
}

void Engine::advance(Instance& i, const InhibitSources& sources, Timestamp now) {
  Plan plan = plan_for(i);
  if (!i.escalation.empty() && plan.policy != i.escalation && warned_policies_.insert(i.escalation).second) {
    log_->warn("alert {} names escalation policy \"{}\", which is not configured; its route decides",
               i.labels.to_string(), i.escalation);
  }
  const bool acked = covered_by_ack(i, now);
  const bool quiet = !silenced_by(i.labels, now).empty() || !inhibited_by(i, sources).empty() ||
                     !muted_by(plan, now).empty();
  // A tier change waits, like any notification, while the alert is silenced, inhibited or muted.
  if (!quiet) change_tier(i, plan, acked, now);
  if (acked && !i.ack_notified) notify_acknowledgement(i, now);
  refresh_at_alertmanagers(i, now);
  const int due = due_step(i, plan, now);
  if (acked || due < 0 || quiet) return;
  escalate_or_repeat(i, plan, due, now);
}

int Engine::tier_direction(const Instance& i) const {
  if (i.notified_tier >= 0 && i.tier >= 0)
    return i.tier > i.notified_tier ? 1 : i.tier < i.notified_tier ? -1 : 0;
  int from = config::severity_rank(config_.severities, i.notified_severity);
  int to = rank(i);
  return to > from ? 1 : to < from ? -1 : 0;
}

void Engine::change_tier(Instance& i, const Plan& plan, bool covered, Timestamp now) {
  const std::string severity(i.labels.get("severity"));
  if (!i.tiered || i.notified_severity.empty() || severity == i.notified_severity) return;
  const bool up = tier_direction(i) > 0;
  // The new tier's policy runs on the incident's clock (fired_at), not from the tier change, and not
  // from an earlier re-arm: step k is due at fired_at + after[k].
  i.rearmed_at = 0;
  i.rearmed_step = -1;
  const int reached = std::max(0, due_step(i, plan, now));
  // Everyone told of the incident hears of the change, once.
  std::vector<std::string> to(i.receivers.begin(), i.receivers.end());
  AlertEvent event = AlertEvent::tier_changed;
  if (up && !covered) {
    // Worse, and no acknowledgement covers it: an escalation of the same incident. The worse tier's
    // steps due on the incident's clock page now, its first one at least; later ones follow that clock.
    event = AlertEvent::escalated;
    for (int k = 0; k <= reached; ++k) {
      for (const auto& r : plan.steps[k].notify) {
        if (std::find(to.begin(), to.end(), r) == to.end()) to.push_back(r);
      }
    }
    i.quiet_step = false;
  } else {
    // Lower (or worse under an acknowledgement that covers it): an update to the people already
    // paged; nobody new. The steps due on the incident's clock count as reached; later ones page on it.
    i.quiet_step = true;
  }
  i.previous_severity = i.notified_severity;
  i.notified_severity = severity;
  i.notified_tier = i.tier;
  i.notified_step = reached;
  i.repeats = 0;
  i.last_notified_at = now;
  for (const auto& r : to) {
    i.receivers.insert(r);
    if (is_receiver(r, config::ReceiverType::alertmanager)) i.resent_at[r] = now;
  }
  dirty_ = true;
  log_->info("alert {} {} moved from {} to {}: {} to {} receiver(s)", i.fingerprint, i.labels.to_string(),
             i.previous_severity, severity, to_string(event), to.size());
  emit({&i, event, reached, to}, now, i.previous_severity);
}

void Engine::notify_acknowledgement(Instance& i, Timestamp now) {
  std::vector<std::string> to;
  for (const auto& r : i.receivers) {
    const auto* rc = receiver(r);
    if (rc != nullptr && rc->send_acknowledged) to.push_back(r);
  }
  if (!to.empty()) emit({&i, AlertEvent::acknowledged, i.notified_step, to}, now);
  i.ack_notified = true;
  dirty_ = true;
}

void Engine::refresh_at_alertmanagers(Instance& i, Timestamp now) {
  // Alertmanager owns its own silencing and expects a firing alert to be re-sent before its endsAt.
  for (auto& [r, at] : i.resent_at) {
    const auto* rc = receiver(r);
    if (rc != nullptr && rc->type == config::ReceiverType::alertmanager &&
        now >= at + rc->resend_interval.count()) {
      at = now;
      emit({&i, AlertEvent::refreshed, i.notified_step, {r}, true}, now);
    }
  }
}

void Engine::escalate_or_repeat(Instance& i, const Plan& plan, int due, Timestamp now) {
  std::vector<std::string> to;
  AlertEvent event;
  auto add_steps = [&](int from, int until) {  // each receiver once
    for (int k = std::max(0, from); k <= until; ++k) {
      for (const auto& r : plan.steps[k].notify) {
        if (std::find(to.begin(), to.end(), r) == to.end()) to.push_back(r);
      }
    }
  };
  if (i.rearm && i.notified_step >= 0) {
    // The acknowledgement lapsed (or was withdrawn): the step reached is told again, and the later
    // steps' timers start over from now, so whoever acked gets the time their step had before the
    // next one is paged, rather than every overdue step at once. A step reached quietly (by a
    // de-escalation) was never paged: the step due now on the incident's clock is, alone, once.
    int current = std::min(i.notified_step, static_cast<int>(plan.steps.size()) - 1);
    if (i.quiet_step) current = std::max(current, due);
    i.rearmed_at = now;
    i.rearmed_step = current;
    due = std::max(current, due_step(i, plan, now));
    add_steps(current, due);
    event = AlertEvent::rearmed;
    i.notified_step = due;
    i.repeats = 0;
  } else if (due > i.notified_step) {
    // Every step that came due since the last notification.
    add_steps(i.notified_step + 1, due);
    event = i.notified_step < 0 ? AlertEvent::triggered : AlertEvent::escalated;
    i.notified_step = due;
    i.repeats = 0;
  } else if (plan.repeat && now >= i.last_notified_at + plan.repeat->count()) {
    to = plan.steps[due].notify;
    // A step reached quietly is repeated only to those of its receivers already told: nobody new.
    if (i.quiet_step) std::erase_if(to, [&](const std::string& r) { return !i.receivers.contains(r); });
    event = AlertEvent::repeated;
    ++i.repeats;
  } else {
    return;
  }
  if (event != AlertEvent::repeated) i.quiet_step = false;
  i.notified_severity = std::string(i.labels.get("severity"));
  i.notified_tier = i.tier;
  i.rearm = false;
  i.last_notified_at = now;
  for (const auto& r : to) {
    i.receivers.insert(r);
    if (is_receiver(r, config::ReceiverType::alertmanager)) i.resent_at[r] = now;
  }
  dirty_ = true;
  emit({&i, event, due, to}, now);
}

void Engine::drop_entry(std::map<std::uint64_t, OutboxEntry>::iterator it, const std::string& result) {
  // A resolve or acknowledgement must never reach a receiver that missed the trigger: drop them
  // from the later entries of the same order key, up to the next firing notification of that alert.
  // A dropped refresh loses nothing: the receiver had the alert from an earlier notification.
  std::set<std::string> lost;
  for (const auto& a : it->second.notification.alerts) {
    if (a.status == "firing" && a.event != AlertEvent::acknowledged && !it->second.resend)
      lost.insert(a.fingerprint);
  }
  std::string receiver_name = it->second.receiver;
  count_(receiver_name, result);
  it = state_.outbox.erase(it);
  dirty_ = true;
  for (; it != state_.outbox.end() && !lost.empty();) {
    if (it->second.receiver != receiver_name || in_flight_.contains(it->first)) {
      ++it;
      continue;
    }
    auto& alerts = it->second.notification.alerts;
    std::erase_if(alerts, [&](const NotifiedAlert& a) {
      if (!lost.contains(a.fingerprint)) return false;
      if (a.status == "resolved" || a.event == AlertEvent::acknowledged) return true;
      lost.erase(a.fingerprint);
      return false;
    });
    if (alerts.empty()) {
      it = state_.outbox.erase(it);
    } else {
      ++it;
    }
  }
  // Nothing queued tells the receiver of these alerts any more: it must not get their resolve.
  for (const auto& fp : lost) {
    if (auto inst = state_.instances.find(fp); inst != state_.instances.end()) {
      inst->second.receivers.erase(receiver_name);
      inst->second.resent_at.erase(receiver_name);
    }
  }
}

void Engine::maintain_outbox(Timestamp now) {
  for (auto it = state_.outbox.begin(); it != state_.outbox.end();) {
    OutboxEntry& e = it->second;
    if (in_flight_.contains(e.id)) {
      ++it;
      continue;
    }
    if (receiver(e.receiver) == nullptr) {
      log_->warn("dropping a queued notification for receiver {}, which is no longer configured", e.receiver);
      auto next = std::next(it);
      std::uint64_t next_id = next == state_.outbox.end() ? 0 : next->first;
      drop_entry(it, "dropped");
      it = next_id == 0 ? state_.outbox.end() : state_.outbox.lower_bound(next_id);
      continue;
    }
    if (e.expires_at <= now) {
      log_->error("notification to {} expired undelivered after {} attempt(s): {}", e.receiver, e.attempts,
                  e.last_error.empty() ? "never tried" : e.last_error);
      auto next = std::next(it);
      std::uint64_t next_id = next == state_.outbox.end() ? 0 : next->first;
      drop_entry(it, "expired");
      it = next_id == 0 ? state_.outbox.end() : state_.outbox.lower_bound(next_id);
      continue;
    }
    ++it;
  }
  // Bounded: beyond max_entries the oldest waiting refreshes go (the alert reached the receiver
  // before), then the oldest waiting entries.
  while (state_.outbox.size() > config_.outbox.max_entries) {
    auto it = std::find_if(state_.outbox.begin(), state_.outbox.end(), [&](const auto& kv) {
      return kv.second.resend && !in_flight_.contains(kv.first);
    });
    if (it == state_.outbox.end()) {
      it = std::find_if(state_.outbox.begin(), state_.outbox.end(),
                        [&](const auto& kv) { return !in_flight_.contains(kv.first); });
    }
    if (it == state_.outbox.end()) break;
    log_->error("outbox full ({} entries): dropping the oldest notification, to {}",
                config_.outbox.max_entries, it->second.receiver);
    drop_entry(it, "dropped");
  }
}

std::vector<OutboxEntry> Engine::take_due(Timestamp now, std::size_t limit) {
  std::vector<OutboxEntry> out;
  std::set<std::string> seen;  // order keys of the older entries
  for (auto& [id, e] : state_.outbox) {
    if (out.size() >= limit) break;
    if (!first_of_its_keys(e, seen)) continue;
    if (in_flight_.contains(id) || e.next_attempt_at > now) continue;
    in_flight_.insert(id);
    out.push_back(e);
  }
  return out;
}

Timestamp Engine::delivered(std::uint64_t id, Timestamp now) {
  in_flight_.erase(id);
  auto it = state_.outbox.find(id);
  if (it == state_.outbox.end()) return 0;
  Timestamp age = now - it->second.created_at;
  state_.outbox.erase(it);
  lazy_dirty_ = true;
  return age;
}

void Engine::failed(std::uint64_t id, Timestamp now, const std::string& error, bool retryable,
                    std::optional<Duration> retry_after) {
  in_flight_.erase(id);
  auto it = state_.outbox.find(id);
  if (it == state_.outbox.end()) return;
  OutboxEntry& e = it->second;
  e.last_error = error;
  ++e.attempts;
  lazy_dirty_ = true;
  if (!retryable) {
    log_->error("receiver {} rejected a notification; dropping it: {}", e.receiver, error);
    drop_entry(it, "rejected");
    return;
  }
  // Exponential backoff with jitter (half fixed, half random) so that retries after an outage do
  // not arrive in lockstep.
  Timestamp base = config_.outbox.initial_backoff.count();
  Timestamp cap = config_.outbox.max_backoff.count();
  Timestamp delay = base;
  for (int k = 1; k < e.attempts && delay < cap; ++k) delay *= 2;
  delay = std::min(delay, cap);
  Timestamp jitter =
      delay / 2 > 0 ? static_cast<Timestamp>(random_() % static_cast<std::uint64_t>(delay / 2 + 1)) : 0;
  e.next_attempt_at = now + delay / 2 + jitter;
  // The receiver said when to come back (429, 503): not before, unless that is beyond max_backoff.
  if (retry_after) e.next_attempt_at = std::max(e.next_attempt_at, now + std::min(retry_after->count(), cap));
  log_->warn("notification to {} failed (attempt {}), retrying in {}: {}", e.receiver, e.attempts,
             format_duration(Duration(e.next_attempt_at - now)), error);
}

Timestamp Engine::next_attempt(Timestamp) const {
  Timestamp next = 0;
  std::set<std::string> seen;
  for (const auto& [id, e] : state_.outbox) {
    if (!first_of_its_keys(e, seen) || in_flight_.contains(id)) continue;
    if (next == 0 || e.next_attempt_at < next) next = e.next_attempt_at;
  }
  return next;
}

bool Engine::due_now(Timestamp now) const {
  Timestamp next = next_attempt(now);
  return next != 0 && next <= now;
}

AlertView Engine::make_view(const Instance& i, Timestamp now, const InhibitSources& sources) const {
  Plan plan = plan_for(i);
  AlertView v;
  v.id = i.fingerprint;
  v.labels = i.labels;
  v.annotations = i.annotations;
  v.state = i.state;
  v.active_at = i.active_at;
  v.fired_at = i.fired_at;
  v.value = i.value;
  v.rule_group = i.rule_group;
  v.severity = std::string(i.labels.get("severity"));
  v.policy = plan.policy;
  v.steps = static_cast<int>(plan.steps.size());
  if (i.state != AlertState::pending) {
    int step = std::min(i.notified_step, v.steps - 1);
    v.step = step + 1;
    if (step >= 0) {
      v.step_at = step_time(i, plan, step);
      v.step_receivers = plan.steps[step].notify;
    }
    if (step + 1 < v.steps) v.next_step_at = step_time(i, plan, step + 1);
  }
  v.notified.assign(i.receivers.begin(), i.receivers.end());
  if (const AckRecord* a = ack_for(i); a != nullptr && (a->ack.expires_at == 0 || now < a->ack.expires_at))
    v.ack = a->ack;
  v.silenced_by = silenced_by(i.labels, now);
  v.inhibited_by = inhibited_by(i, sources);
  v.muted_by = muted_by(plan, now);
  v.state_changes = state_changes(i.fingerprint, now);
  v.flapping = flapping(i.fingerprint, now);
  return v;
}

std::vector<AlertView> Engine::views(Timestamp now) const {
  std::vector<AlertView> out;
  const InhibitSources sources = inhibit_sources();
  for (const auto& [fp, i] : state_.instances) out.push_back(make_view(i, now, sources));
  std::stable_sort(out.begin(), out.end(), [&](const AlertView& a, const AlertView& b) {
    int ra = config::severity_rank(config_.severities, a.severity);
    int rb = config::severity_rank(config_.severities, b.severity);
    if (ra != rb) return ra > rb;
    if ((a.state == AlertState::firing) != (b.state == AlertState::firing))
      return a.state == AlertState::firing;
    return a.fired_at != b.fired_at ? a.fired_at < b.fired_at : a.active_at < b.active_at;
  });
  return out;
}

std::optional<AlertView> Engine::view(const std::string& id, Timestamp now) const {
  auto it = state_.instances.find(id);
  if (it == state_.instances.end()) return std::nullopt;
  return make_view(it->second, now, inhibit_sources());
}

std::variant<AlertView, std::string> Engine::acknowledge(const std::string& id,
                                                         const Dispatcher::AckRequest& request,
                                                         Timestamp now) {
  auto it = state_.instances.find(id);
  if (it == state_.instances.end()) return "no alert with id " + id;
  Instance& i = it->second;
  if (i.state != AlertState::firing)
    return "alert " + id + " is " + std::string(to_string(i.state)) + ", not firing";
  if (request.by.empty()) return "say who acknowledges (by)";
  if (request.expires_at && *request.expires_at <= now) return "the expiry is in the past";
  AckRecord record;
  record.ack = {request.by, request.comment, now, request.expires_at.value_or(0),
                std::string(i.labels.get("severity"))};
  record.rank = rank(i);
  record.fingerprint = id;
  std::string key = problem_key(i.labels);
  state_.acks[key] = std::move(record);
  for (auto& [fp, other] : state_.instances) {
    if (problem_key(other.labels) == key && rank(other) <= rank(i)) {
      other.ack_notified = false;
      other.rearm = false;
    }
  }
  dirty_ = true;
  log_->info("alert {} {} acknowledged by {}{}", id, i.labels.to_string(), request.by,
             request.comment.empty() ? "" : ": " + request.comment);
  return make_view(i, now, inhibit_sources());
}

std::variant<AlertView, std::string> Engine::unacknowledge(const std::string& id, Timestamp now) {
  auto it = state_.instances.find(id);
  if (it == state_.instances.end()) return "no alert with id " + id;
  auto ack = state_.acks.find(problem_key(it->second.labels));
  if (ack == state_.acks.end() || rank(it->second) > ack->second.rank)
    return "alert " + id + " is not acknowledged";
  for (auto& [fp, other] : state_.instances) {
    if (problem_key(other.labels) == ack->first && rank(other) <= ack->second.rank &&
        other.state == AlertState::firing) {
      other.rearm = true;
      other.ack_notified = false;
    }
  }
  state_.acks.erase(ack);
  dirty_ = true;
  return make_view(it->second, now, inhibit_sources());
}

std::variant<Silence, std::string> Engine::create_silence(Silence s, Timestamp now) {
  if (s.matchers.empty()) return std::string("a silence needs at least one matcher");
  std::vector<store::Matcher> compiled;
  try {
    compiled = compile_matchers(s.matchers);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  if (std::all_of(compiled.begin(), compiled.end(),
                  [](const store::Matcher& m) { return m.matches_empty(); })) {
    return std::string("a silence must have at least one matcher that does not match the empty string");
  }
  if (s.created_by.empty()) return std::string("say who creates the silence (createdBy)");
  if (s.starts_at == 0 || s.starts_at < now) s.starts_at = now;
  if (s.ends_at <= s.starts_at) return std::string("the silence must end after it starts");
  if (!s.id.empty()) {
    // Updating an existing silence replaces it, as in Alertmanager.
    auto it = state_.silences.find(s.id);
    if (it == state_.silences.end()) return "no silence with id " + s.id;
  } else {
    s.id = hex16(random_()) + hex16(random_()).substr(0, 8);
  }
  s.updated_at = now;
  silence_matchers_[s.id] = std::move(compiled);
  state_.silences[s.id] = s;
  dirty_ = true;
  std::string matchers;
  for (const auto& m : s.matchers) matchers += (matchers.empty() ? "" : ", ") + config::to_string(m);
  log_->info("silence {} created by {} until {}: {{{}}} {}", s.id, s.created_by, format_rfc3339(s.ends_at),
             matchers, s.comment);
  return s;
}

std::optional<std::string> Engine::expire_silence(const std::string& id, Timestamp now) {
  auto it = state_.silences.find(id);
  if (it == state_.silences.end()) return "no silence with id " + id;
  Silence& s = it->second;
  if (s.ends_at <= now) return "silence " + id + " has already expired";
  s.ends_at = now;
  if (s.starts_at > now) s.starts_at = now;
  s.updated_at = now;
  dirty_ = true;
  log_->info("silence {} expired", id);
  return std::nullopt;
}

std::vector<Silence> Engine::silences(Timestamp) const {
  std::vector<Silence> out;
  for (const auto& [id, s] : state_.silences) out.push_back(s);
  std::sort(out.begin(), out.end(),
            [](const Silence& a, const Silence& b) { return a.updated_at > b.updated_at; });
  return out;
}

}  // namespace tocsin::alerting::detail

namespace tocsin::alerting {

std::string fingerprint(const Labels& labels) { return detail::hex16(labels.hash()); }

std::string_view Silence::status(Timestamp now) const {
  if (now < starts_at) return "pending";
  if (now < ends_at) return "active";
  return "expired";
}

}  // namespace tocsin::alerting
