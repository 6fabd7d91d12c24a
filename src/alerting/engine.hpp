#pragma once
// The decisions of alert delivery, without threads or I/O: what the rule engine reported, what is
// due on the clock, who gets told what, and what the outbox holds. The dispatcher serialises every
// call (one mutex) and does the I/O around it.

#include <spdlog/logger.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "state.hpp"
#include "time_zone.hpp"
#include "tocsin/store/matcher.hpp"

namespace tocsin::alerting::detail {

// How one alert is handled: from its route, or the rule's own escalation policy.
struct Plan {
  int route = -1;      // index into the routes; -1: no route matched (the log receiver)
  std::string policy;  // empty for a route that notifies directly
  std::vector<config::EscalationStep> steps;
  std::optional<Duration> repeat;
  std::vector<std::string> group_by;
  Duration group_wait{0};
  std::vector<std::string> mute_time_intervals;
  std::vector<std::string> active_time_intervals;
};

class Engine {
 public:
  // Called with (receiver, result) for outcomes the engine decides itself: expired, dropped.
  using Counter = std::function<void(const std::string& receiver, const std::string& result)>;

  Engine(config::AlertingConfig config, std::string external_url, std::shared_ptr<spdlog::logger> log,
         Counter count);

  void reconfigure(config::AlertingConfig config, std::string external_url);
  const config::AlertingConfig& config() const { return config_; }
  const std::string& external_url() const { return external_url_; }
  const std::map<std::string, std::string>& external_labels() const { return config_.external_labels; }

  // Replaces the state (after loading it); restored instances count as seen at `now`.
  void restore(State state, Timestamp now);
  const State& state() const { return state_; }

  // Whether anything must be saved before more is delivered: a decision, a new or dropped
  // notification, an ack or a silence. Delivery results alone are `lazy`: losing them in a crash
  // only sends a delivered notification once more (at least once), so they may wait for the next
  // save. take_dirty(true) also counts them.
  bool take_dirty(bool include_lazy) {
    bool d = dirty_ || (include_lazy && lazy_dirty_);
    if (d) dirty_ = lazy_dirty_ = false;
    return d;
  }

  void ingest(const std::string& rule_group, const std::vector<Alert>& alerts, Timestamp now);
  // Timers: escalation steps, repeats, acknowledgement expiry, settling flapping alerts,
  // alertmanager resends, silences and windows; queues what is due and maintains the outbox.
  void evaluate(Timestamp now);

  std::vector<AlertView> views(Timestamp now) const;
  std::optional<AlertView> view(const std::string& id, Timestamp now) const;
  std::variant<AlertView, std::string> acknowledge(const std::string& id,
                                                   const Dispatcher::AckRequest& request, Timestamp now);
  std::variant<AlertView, std::string> unacknowledge(const std::string& id, Timestamp now);
  std::variant<Silence, std::string> create_silence(Silence silence, Timestamp now);
  std::optional<std::string> expire_silence(const std::string& id, Timestamp now);
  std::vector<Silence> silences(Timestamp now) const;

  // The outbox. take_due marks the returned entries in flight; each must come back through
  // delivered(), failed() or abandoned().
  std::vector<OutboxEntry> take_due(Timestamp now, std::size_t limit);
  // Returns the entry's age (ms since it was queued) for the latency histogram.
  Timestamp delivered(std::uint64_t id, Timestamp now);
  // A retryable failure is attempted again after the backoff, or after `retry_after` (the receiver's
  // Retry-After) when that is longer, capped at outbox.max_backoff.
  void failed(std::uint64_t id, Timestamp now, const std::string& error, bool retryable,
              std::optional<Duration> retry_after = std::nullopt);
  void abandoned(std::uint64_t id) { in_flight_.erase(id); }
  std::size_t in_flight() const { return in_flight_.size(); }
  // The earliest next_attempt_at of an entry not in flight; 0 when none.
  Timestamp next_attempt(Timestamp now) const;
  bool due_now(Timestamp now) const;

 private:
  struct CompiledRoute {
    std::vector<store::Matcher> matchers;
    const config::RouteConfig* route;
  };
  struct CompiledInhibit {
    std::vector<store::Matcher> source;
    std::vector<store::Matcher> target;
    std::vector<std::string> equal;
  };
  struct Event {
    const Instance* instance;
    AlertEvent event;
    int step;  // 0-based; -1 when not about a step
    std::vector<std::string> receivers;
    bool resend = false;
  };

  void compile();
  Plan plan_for(const Instance& i) const;
  // When step k (0-based) of the plan is due for `i`.
  Timestamp step_time(const Instance& i, const Plan& plan, int k) const;
  int due_step(const Instance& i, const Plan& plan, Timestamp now) const;
  bool covered_by_ack(const Instance& i, Timestamp now) const;
  const AckRecord* ack_for(const Instance& i) const;
  std::vector<std::string> silenced_by(const Labels& labels, Timestamp now) const;
  // Per inhibit rule, the firing alerts matching its source side: computed once per round, so that
  // checking every target costs the sources, not every alert.
  using InhibitSources = std::vector<std::vector<const Instance*>>;
  InhibitSources inhibit_sources() const;
  std::vector<std::string> inhibited_by(const Instance& i, const InhibitSources& sources) const;
  std::string muted_by(const Plan& plan, Timestamp now) const;
  int rank(const Instance& i) const;
  int state_changes(const std::string& fingerprint, Timestamp now) const;
  bool flapping(const std::string& fingerprint, Timestamp now) const;
  void record_transition(const std::string& fingerprint, Timestamp now);

  // How long an alert of `rule_group` may go unreported before it counts as gone: resolve_timeout,
  // or more for a group evaluated less often than that.
  Timestamp stale_after(const std::string& rule_group) const;
  void note_report(const std::string& rule_group, Timestamp now);

  // The passes of ingest(), in order.
  // Takes one reported active (pending or firing) alert of `rule_group` into its instance: creates
  // it, refreshes its labels, annotations and value, and starts a firing episode (or continues one
  // whose resolve was held back for flapping). Returns the instance's fingerprint.
  std::string absorb(const std::string& rule_group, const Alert& a, Timestamp now);
  // Resolves the active instances of `rule_group` missing from its report (not in `reported`).
  void resolve_unreported(const std::string& rule_group, const std::set<std::string>& reported,
                          Timestamp now);
  // Moves the instance of a tiered alert read from a format-1 state file (keyed by all its labels)
  // to the alert's tier-independent id, once its rule reports it again.
  void migrate_legacy(const Alert& a);

  // The passes of evaluate(), in order; each reads the clock only through `now`.
  // The rule groups of every instance, taken before resolve_stale_alerts() removes any, so that a
  // group whose last alert goes stale in this round keeps its report gaps until the next.
  std::set<std::string> groups_with_alerts() const;
  // Resolves active instances whose group has not reported them for stale_after(group).
  void resolve_stale_alerts(Timestamp now);
  // Forgets the report gaps (and last report) of groups in neither `groups` nor reporting any more.
  void forget_silent_groups(const std::set<std::string>& groups, Timestamp now);
  // Queues the held-back resolve of flapping instances that stayed resolved for flapping.settle.
  void settle_flapping(Timestamp now);
  // Drops expired acknowledgements, re-arming escalation of the firing instances they covered, and
  // acknowledgements no instance has any more.
  void expire_acknowledgements(Timestamp now);
  // Drops silences expired longer than kSilenceRetention, and transition times outside the
  // flapping window.
  void prune_silences_and_transitions(Timestamp now);
  // Everything due for one firing instance: tells receivers of an acknowledgement, refreshes it at
  // alertmanager receivers, and unless acknowledged, silenced, inhibited or muted, notifies the
  // escalation step due (escalate_or_repeat).
  void advance(Instance& i, const InhibitSources& sources, Timestamp now);
  // Queues the acknowledged event once per acknowledgement to the receivers of the firing that
  // want it (send_acknowledged).
  void notify_acknowledgement(Instance& i, Timestamp now);
  // A tiered alert whose severity differs from the one receivers were last told: one notification of
  // the same incident to everyone told. Worse and not covered by `covered` (an acknowledgement):
  // `escalated`, also paging the worse tier's steps due on the incident's clock (its first at
  // least). Lower, or covered: `tier_changed`, paging nobody new; the steps due count as reached.
  void change_tier(Instance& i, const Plan& plan, bool covered, Timestamp now);
  // +1 when `i` is at a worse tier than receivers were told, -1 at a lower one, 0 when unknown.
  int tier_direction(const Instance& i) const;
  // Queues a refresh to each alertmanager receiver whose resend_interval has passed since the last.
  void refresh_at_alertmanagers(Instance& i, Timestamp now);
  // Notifies `i` of the escalation it is due: the current step again after a lapsed
  // acknowledgement (rearmed), every step that came due since the last notification (triggered,
  // escalated), or the current step after the repeat interval (repeated); nothing when none is
  // due. `due` is due_step(i, plan, now), at least 0.
  void escalate_or_repeat(Instance& i, const Plan& plan, int due, Timestamp now);

  void resolve(Instance& i, Timestamp resolved_at, Timestamp now);
  // Tells every receiver told of the firing (with send_resolved) that it resolved, and forgets it.
  void finish_resolve(const std::string& fingerprint, Timestamp now);
  void start_episode(Instance& i, const Alert& a, Timestamp now);
  // `previous_severity`: for a tier change, the severity before it.
  void emit(const Event& e, Timestamp now, const std::string& previous_severity = {});
  NotifiedAlert notified(const Instance& i, const Plan& plan, AlertEvent event, int step,
                         Timestamp now) const;
  void enqueue(const std::string& receiver, const Plan& plan, const Instance& i, NotifiedAlert alert,
               bool resend, Timestamp now);
  void maintain_outbox(Timestamp now);
  void drop_entry(std::map<std::uint64_t, OutboxEntry>::iterator it, const std::string& result);
  AlertView make_view(const Instance& i, Timestamp now, const InhibitSources& sources) const;
  bool is_receiver(const std::string& name, config::ReceiverType type) const;
  const config::ReceiverConfig* receiver(const std::string& name) const;

  config::AlertingConfig config_;
  std::string external_url_;
  std::shared_ptr<spdlog::logger> log_;
  Counter count_;
  std::vector<CompiledRoute> routes_;
  std::vector<CompiledInhibit> inhibits_;
  mutable std::map<std::string, std::vector<store::Matcher>> silence_matchers_;
  std::set<std::string> warned_policies_;
  State state_;
  std::set<std::uint64_t> in_flight_;
  std::map<std::string, Timestamp> last_report_;  // by rule group, since this process started
  bool dirty_ = false;
  bool lazy_dirty_ = false;
  std::mt19937_64 random_{std::random_device{}()};
};

// Labels without `severity`: the identity an acknowledgement holds across tiers.
std::string problem_key(const Labels& labels);
// An alert's id: the fingerprint of its labels; for a tiered rule's alert, of its labels without
// `severity` (problem_key), so that it is one incident across tiers.
std::string alert_id(const Alert& a);

}  // namespace tocsin::alerting::detail
