#pragma once
// What alert delivery remembers across restarts, and its file format. Only the decision thread
// touches a State; it is saved whole to <state_dir>/alerting.json (temp file, fsync, rename).

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "notification.hpp"
#include "tocsin/alerting/dispatcher.hpp"

namespace tocsin::alerting::detail {

// One alert instance and where its current firing episode stands. Its id (`fingerprint`) is the
// fingerprint of its labels, for a tiered rule's alert of its labels without `severity`: one
// incident across tiers.
struct Instance {
  std::string fingerprint;
  Labels labels;  // the current ones (a tiered alert's `severity` is its current tier)
  Labels annotations;
  AlertState state = AlertState::pending;
  Timestamp active_at = 0;
  Timestamp fired_at = 0;     // the episode's start (the incident's clock): escalation timers run from here
  Timestamp resolved_at = 0;  // set while a flapping alert settles before its resolve goes out
  double value = 0;
  std::string rule_group;
  std::string rule_name;
  std::string escalation;  // the rule's policy; empty: the route's
  Timestamp last_seen = 0;
  bool restored = false;     // loaded from disk and not yet reported again by the rule engine
  bool tiered = false;       // a tiered rule's alert (its id leaves out `severity`)
  int tier = -1;             // a tiered alert's tier index, least severe first; -1: unknown
  Timestamp tier_since = 0;  // when its current tier began (a tiered alert)
  // Read from a format-1 file, where a tiered alert's id still had its severity: re-keyed to the
  // tier-independent id when the rule engine reports it again.
  bool legacy = false;

  int notified_step = -1;          // the highest escalation step notified in this episode (0-based)
  int repeats = 0;                 // repeat notifications of that step
  Timestamp last_notified_at = 0;  // the last firing notification (step, repeat or re-arm)
  bool rearm = false;              // an acknowledgement lapsed: notify the current step again
  // When escalation re-armed, later steps run from then: step k > rearmed_step is due at
  // rearmed_at + (after[k] - after[rearmed_step]). 0: the steps run from fired_at.
  Timestamp rearmed_at = 0;
  int rearmed_step = -1;
  // The severity (and tier) receivers were last told in a firing notification; a tiered alert whose
  // severity differs from it has changed tier since (Engine::change_tier). Empty: nobody told yet.
  std::string notified_severity;
  int notified_tier = -1;
  std::string previous_severity;  // the severity before the last tier change, for its message
  // The step reached was reached without paging its receivers (a de-escalation, or a worse tier
  // under an acknowledgement that covers it): repeats go only to those of them already told, and a
  // re-arm pages the step due on the incident's clock rather than this one again.
  bool quiet_step = false;
  bool ack_notified = false;                   // receivers were told of the acknowledgement
  std::set<std::string> receivers;             // told of the firing; they get the resolve
  std::map<std::string, Timestamp> resent_at;  // alertmanager receivers: last (re)send
};

struct AckRecord {
  Acknowledgement ack;
  int rank = 0;             // severity rank acknowledged
  std::string fingerprint;  // the alert the acknowledgement was given on
};

// A queued notification; each receiver renders it into its own format at delivery time. On disk
// the notification is the generic webhook JSON.
struct OutboxEntry {
  std::uint64_t id = 0;  // increasing; within an order key entries go out in id order
  std::string receiver;
  std::string group_key;
  Notification notification;
  bool resend = false;  // an alertmanager refresh, replaced by a newer one while queued
  Timestamp created_at = 0;
  Timestamp next_attempt_at = 0;
  Timestamp expires_at = 0;
  int attempts = 0;
  std::string last_error;

  // Delivery order is kept per receiver and alert: an entry goes out only after every older entry
  // of its receiver that carries one of its alerts. Groups and route positions play no part, so a
  // reload that moves routes cannot let a resolve overtake its trigger.
  std::vector<std::string> order_keys() const {
    std::vector<std::string> out;
    for (const auto& a : notification.alerts) out.push_back(receiver + "\n" + a.fingerprint);
    return out;
  }
  bool carries(const std::string& fingerprint) const {
    return std::any_of(notification.alerts.begin(), notification.alerts.end(),
                       [&](const NotifiedAlert& a) { return a.fingerprint == fingerprint; });
  }
};

struct State {
  std::map<std::string, Instance> instances;                  // by fingerprint
  std::map<std::string, AckRecord> acks;                      // by problem key (labels without severity)
  std::map<std::string, Silence> silences;                    // by id
  std::map<std::string, std::vector<Timestamp>> transitions;  // fire/resolve times, by fingerprint
  std::map<std::uint64_t, OutboxEntry> outbox;                // by id
  std::uint64_t next_entry_id = 1;
  // The last few gaps between successive reports of each rule group, newest last: how often the
  // group is evaluated, which the rule engine does not tell alert delivery. An alert is resolved as
  // gone only after several of its group's intervals without a report.
  std::map<std::string, std::vector<Timestamp>> report_gaps;
};

nlohmann::json to_json(const State& state);
// The layout version of a saved document, and the one to_json writes.
int state_format(const nlohmann::json& json);
int current_state_format();
// Throws nlohmann::json::exception or std::invalid_argument on a malformed document.
State state_from_json(const nlohmann::json& json);

nlohmann::json labels_to_json(const Labels& labels);
Labels labels_from_json(const nlohmann::json& json);

// Writes `content` to `path` so that a reader sees the old or the new file, never a mix, even
// after a crash: a temp file beside it, fsync, rename, fsync of the directory. Throws
// std::runtime_error naming the path and the cause.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace tocsin::alerting::detail
