#include "notification.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "state.hpp"
#include "tocsin/core/duration.hpp"

namespace tocsin::alerting::detail {

namespace {

using nlohmann::json;

json time_or_null(Timestamp t) { return t == 0 ? json(nullptr) : json(format_rfc3339(t)); }

Timestamp time_from(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  const std::string& s = it->get_ref<const std::string&>();
  if (s.starts_with("0001-01-01")) return 0;
  auto t = parse_rfc3339(s);
  if (!t) throw std::invalid_argument("bad timestamp \"" + s + "\"");
  return *t;
}

json value_json(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Labels every alert of the notification shares with the same value.
Labels common_of(const std::vector<NotifiedAlert>& alerts, bool annotations) {
  if (alerts.empty()) return {};
  const Labels& first = annotations ? alerts[0].annotations : alerts[0].labels;
  std::vector<Label> out;
  for (const Label& l : first) {
    bool everywhere = std::all_of(alerts.begin() + 1, alerts.end(), [&](const NotifiedAlert& a) {
      return (annotations ? a.annotations : a.labels).get(l.name) == l.value;
    });
    if (everywhere) out.push_back(l);
  }
  return Labels::from_sorted(std::move(out));
}

std::string where_of(const Labels& labels) {
  for (const char* key : {"instance", "target", "job", "host"}) {
    if (auto v = labels.get(key); !v.empty()) return std::string(v);
  }
  return "";
}

std::string_view headline(AlertEvent event) {
  switch (event) {
    case AlertEvent::triggered:
    case AlertEvent::refreshed: return "FIRING";
    case AlertEvent::escalated: return "ESCALATED";
    case AlertEvent::repeated: return "STILL FIRING";
    // Said the same whether the acknowledgement expired or was withdrawn (--undo).
    case AlertEvent::rearmed: return "STILL FIRING (no longer acknowledged)";
    case AlertEvent::acknowledged: return "ACKNOWLEDGED";
    case AlertEvent::resolved: return "RESOLVED";
    case AlertEvent::tier_changed: return "SEVERITY CHANGED";
  }
  return to_string(event);
}

constexpr AlertEvent kAlertEvents[] = {
    AlertEvent::triggered,    AlertEvent::escalated, AlertEvent::repeated,     AlertEvent::rearmed,
    AlertEvent::acknowledged, AlertEvent::resolved,  AlertEvent::tier_changed, AlertEvent::refreshed};

}  // namespace

std::string_view to_string(AlertEvent event) {
  switch (event) {
    case AlertEvent::triggered: return "triggered";
    case AlertEvent::escalated: return "escalated";
    case AlertEvent::repeated: return "repeated";
    case AlertEvent::rearmed: return "rearmed";
    case AlertEvent::acknowledged: return "acknowledged";
    case AlertEvent::resolved: return "resolved";
    case AlertEvent::tier_changed: return "tier_changed";
    case AlertEvent::refreshed: return "refreshed";
  }
  return "unknown";
}

std::optional<AlertEvent> parse_alert_event(std::string_view name) {
  for (AlertEvent e : kAlertEvents) {
    if (to_string(e) == name) return e;
  }
  return std::nullopt;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_age(Timestamp from, Timestamp now) {
  Timestamp d = std::max<Timestamp>(0, now - from);
  d = d >= 60'000 ? d / 60'000 * 60'000 : d / 1000 * 1000;  // minutes, or seconds below a minute
  return format_duration(Duration(d));
}

std::string Notification::status() const {
  bool firing =
      std::any_of(alerts.begin(), alerts.end(), [](const NotifiedAlert& a) { return a.status == "firing"; });
  return firing ? "firing" : "resolved";
}

std::string Notification::alert_url(const NotifiedAlert& alert) const {
  return external_url + "/#alert-" + alert.fingerprint;
}

json to_webhook_json(const Notification& n) {
  json alerts = json::array();
  for (const NotifiedAlert& a : n.alerts) {
    json escalation = {{"policy", a.escalation.policy},
                       {"step", a.escalation.step},
                       {"steps", a.escalation.steps},
                       {"stepAt", time_or_null(a.escalation.step_at)},
                       {"nextStepAt", time_or_null(a.escalation.next_step_at)},
                       {"nextReceivers", a.escalation.next_receivers}};
    json ack = nullptr;
    if (a.ack) {
      ack = {{"by", a.ack->by},
             {"comment", a.ack->comment},
             {"at", time_or_null(a.ack->at)},
             {"expiresAt", time_or_null(a.ack->expires_at)},
             {"severity", a.ack->severity}};
    }
    json flapping = nullptr;
    if (a.flapping_changes > 0) {
      flapping = {{"changes", a.flapping_changes}, {"window", format_duration(Duration(a.flapping_window))}};
    }
    alerts.push_back(
        {{"status", a.status},
         {"event", to_string(a.event)},
         {"labels", labels_to_json(a.labels)},
         {"annotations", labels_to_json(a.annotations)},
         {"startsAt", format_rfc3339(a.starts_at)},
         {"endsAt", format_rfc3339(a.ends_at)},
         {"generatorURL", n.alert_url(a)},
         {"fingerprint", a.fingerprint},
         {"severity", std::string(a.labels.get("severity"))},
         {"value", value_json(a.value)},
         {"ruleGroup", a.rule_group},
         {"escalation", escalation},
         {"acknowledged", ack},
         {"flapping", flapping},
         {"tiered", a.tiered},
         {"previousSeverity", a.previous_severity.empty() ? json(nullptr) : json(a.previous_severity)}});
  }
  return {{"version", "4"},
          {"status", n.status()},
          {"receiver", n.receiver},
          {"groupKey", n.group_key},
          {"truncatedAlerts", 0},
          {"groupLabels", labels_to_json(n.group_labels)},
          {"commonLabels", labels_to_json(common_of(n.alerts, false))},
          {"commonAnnotations", labels_to_json(common_of(n.alerts, true))},
          {"externalURL", n.external_url},
          {"createdAt", format_rfc3339(n.created_at)},
          {"alerts", alerts}};
}

Notification notification_from_json(const json& j) {
  Notification n;
  n.receiver = j.at("receiver").get<std::string>();
  n.group_key = j.at("groupKey").get<std::string>();
  n.group_labels = labels_from_json(j.at("groupLabels"));
  n.external_url = j.at("externalURL").get<std::string>();
  n.created_at = time_from(j, "createdAt");
  for (const json& a : j.at("alerts")) {
    NotifiedAlert out;
    out.status = a.at("status").get<std::string>();
    const std::string event = a.at("event").get<std::string>();
    auto parsed = parse_alert_event(event);
    if (!parsed) throw std::invalid_argument("unknown alert event \"" + event + "\"");
    out.event = *parsed;
    out.labels = labels_from_json(a.at("labels"));
    out.annotations = labels_from_json(a.at("annotations"));
    out.starts_at = time_from(a, "startsAt");
    out.ends_at = time_from(a, "endsAt");
    out.fingerprint = a.at("fingerprint").get<std::string>();
    out.value = a.at("value").is_null() ? std::nan("") : a.at("value").get<double>();
    out.rule_group = a.at("ruleGroup").get<std::string>();
    const json& e = a.at("escalation");
    out.escalation.policy = e.at("policy").get<std::string>();
    out.escalation.step = e.at("step").get<int>();
    out.escalation.steps = e.at("steps").get<int>();
    out.escalation.step_at = time_from(e, "stepAt");
    out.escalation.next_step_at = time_from(e, "nextStepAt");
    out.escalation.next_receivers = e.at("nextReceivers").get<std::vector<std::string>>();
    if (const json& ack = a.at("acknowledged"); !ack.is_null()) {
      out.ack = Acknowledgement{ack.at("by").get<std::string>(), ack.at("comment").get<std::string>(),
                                time_from(ack, "at"), time_from(ack, "expiresAt"),
                                ack.at("severity").get<std::string>()};
    }
    out.tiered = a.value("tiered", false);  // absent in outboxes saved before tiered alerts kept one id
    if (auto p = a.find("previousSeverity"); p != a.end() && !p->is_null())
      out.previous_severity = p->get<std::string>();
    if (const json& f = a.at("flapping"); !f.is_null()) {
      out.flapping_changes = f.at("changes").get<int>();
      auto window = parse_duration(f.at("window").get<std::string>());
      out.flapping_window = window ? window->count() : 0;
    }
    n.alerts.push_back(std::move(out));
  }
  return n;
}

std::string render_title(const Notification& n) {
  std::size_t firing = std::count_if(n.alerts.begin(), n.alerts.end(),
                                     [](const NotifiedAlert& a) { return a.status == "firing"; });
  std::string title = firing > 0 ? "[FIRING:" + std::to_string(firing) + "]" : "[RESOLVED]";
  std::vector<std::string> names;
  for (const NotifiedAlert& a : n.alerts) {
    std::string name(a.labels.get("alertname"));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (std::size_t i = 0; i < names.size() && i < 3; ++i) title += (i == 0 ? " " : ", ") + names[i];
  if (names.size() > 3) title += " and " + std::to_string(names.size() - 3) + " more";
  if (n.alerts.size() == 1) {
    const NotifiedAlert& a = n.alerts[0];
    if (auto sev = a.labels.get("severity"); !sev.empty()) title += " (" + std::string(sev) + ")";
    if (auto where = where_of(a.labels); !where.empty()) title += " on " + where;
  }
  return title;
}

std::string render_text(const Notification& n, const TimeZone& zone, Timestamp now, bool markdown) {
  auto bold = [&](const std::string& s) { return markdown ? "*" + s + "*" : s; };
  std::string out;
  for (const NotifiedAlert& a : n.alerts) {
    if (!out.empty()) out += "\n";
    std::string sev(a.labels.get("severity"));
    std::string line;
    if (!a.previous_severity.empty() && a.status == "firing") {
      // A tier change of the same incident: which way, from what to what.
      line = std::string(a.event == AlertEvent::escalated ? "ESCALATED" : "SEVERITY LOWERED") + " " +
             a.previous_severity + " -> " + sev + ": " + bold(std::string(a.labels.get("alertname")));
    } else if (a.event == AlertEvent::tier_changed && a.status == "resolved") {
      line = "RESOLVED AT THIS SEVERITY " + sev + ": " + bold(std::string(a.labels.get("alertname")));
    } else {
      line = std::string(headline(a.event)) + (sev.empty() ? "" : " " + sev) + ": " +
             bold(std::string(a.labels.get("alertname")));
    }
    if (auto where = where_of(a.labels); !where.empty()) line += " on " + where;
    out += line + "\n";
    if (auto summary = a.annotations.get("summary"); !summary.empty())
      out += "  " + std::string(summary) + "\n";
    std::string labels;
    for (const Label& l : a.labels) {
      if (l.name == "alertname" || l.name == "severity") continue;
      labels += (labels.empty() ? "" : ", ") + l.name + "=" + l.value;
    }
    if (!labels.empty()) out += "  Labels: " + labels + "\n";
    if (a.status == "firing") {
      out += "  Value: " + format_value(a.value) + ", firing since " + format_local(a.starts_at, zone) +
             " (" + format_age(a.starts_at, now) + ")\n";
    } else {
      out += "  Resolved at " + format_local(a.ends_at, zone) + " after " +
             format_age(a.starts_at, a.ends_at) + " (last value " + format_value(a.value) + ")\n";
    }
    if (auto description = a.annotations.get("description"); !description.empty() && a.status == "firing") {
      out += "  Check first: " + std::string(description) + "\n";
    }
    if (auto runbook = a.annotations.get("runbook_url"); !runbook.empty())
      out += "  Runbook: " + std::string(runbook) + "\n";
    const EscalationInfo& e = a.escalation;
    if (!e.policy.empty() && a.status == "firing") {
      std::string esc = "  Escalation: step " + std::to_string(e.step) + " of " + std::to_string(e.steps) +
                        " (policy " + e.policy + ", since " + format_local(e.step_at, zone) + ")";
      if (e.next_step_at != 0) {
        esc += "; next step at " + format_local(e.next_step_at, zone);
        std::string who;
        for (const auto& r : e.next_receivers) who += (who.empty() ? "" : ", ") + r;
        if (!who.empty()) esc += " to " + who;
        esc += " unless acknowledged";
      } else {
        esc += "; last step";
      }
      out += esc + "\n";
    }
    if (a.ack) {
      std::string ack = "  Acknowledged by " + a.ack->by + " at " + format_local(a.ack->at, zone);
      if (!a.ack->comment.empty()) ack += ": \"" + a.ack->comment + "\"";
      if (a.ack->expires_at != 0) ack += " (until " + format_local(a.ack->expires_at, zone) + ")";
      out += ack + "\n";
    }
    if (a.flapping_changes > 0) {
      out += "  Flapping: " + std::to_string(a.flapping_changes) + " state changes in the last " +
             format_duration(Duration(a.flapping_window)) +
             "; its resolve is held back until it stays resolved\n";
    }
    out += "  Details: " + n.alert_url(a) + "\n";
  }
  return out;
}

json to_alertmanager_json(const Notification& n, Timestamp now, Duration valid_for) {
  json out = json::array();
  for (const NotifiedAlert& a : n.alerts) {
    LabelsBuilder annotations(a.annotations);
    if (!a.escalation.policy.empty() && annotations.get("escalation").empty()) {
      annotations.set("escalation", "step " + std::to_string(a.escalation.step) + " of " +
                                        std::to_string(a.escalation.steps) + " of policy " +
                                        a.escalation.policy + " since " +
                                        format_rfc3339(a.escalation.step_at));
    }
    Timestamp ends = a.status == "firing" ? now + valid_for.count() : a.ends_at;
    // Alertmanager's fingerprint is a hash of all labels: a tiered alert leaves `severity` out of them
    // (and carries it as an annotation), so that a tier change is the same alert there too, never a
    // resolve of one label set and a new alert of another while the incident goes on.
    LabelsBuilder labels(a.labels);
    if (a.tiered) {
      if (auto sev = a.labels.get("severity"); !sev.empty() && annotations.get("severity").empty())
        annotations.set("severity", std::string(sev));
      labels.del("severity");
    }
    out.push_back({{"labels", labels_to_json(labels.build())},
                   {"annotations", labels_to_json(annotations.build())},
                   {"startsAt", format_rfc3339(a.starts_at)},
                   {"endsAt", format_rfc3339(ends)},
                   {"generatorURL", n.alert_url(a)}});
  }
  return out;
}

json to_pagerduty_event(const Notification& n, const NotifiedAlert& a, const std::string& routing_key,
                        const std::string& source, const TimeZone& zone, Timestamp now) {
  std::string action = a.status == "resolved"                ? "resolve"
                       : a.event == AlertEvent::acknowledged ? "acknowledge"
                                                             : "trigger";
  json event = {{"routing_key", routing_key}, {"event_action", action}, {"dedup_key", a.fingerprint}};
  if (action != "trigger") return event;
  std::string sev(a.labels.get("severity"));
  if (sev != "critical" && sev != "error" && sev != "warning" && sev != "info") sev = "error";
  Notification single = n;
  single.alerts = {a};
  std::string summary = render_title(single);
  if (auto s = a.annotations.get("summary"); !s.empty()) summary += ": " + std::string(s);
  if (summary.size() > 1024) {
    // PagerDuty's limit is 1024 bytes; cut before a UTF-8 continuation byte never inside a character.
    std::size_t cut = 1024;
    while (cut > 0 && (static_cast<unsigned char>(summary[cut]) & 0xC0) == 0x80) --cut;
    summary.resize(cut);
  }
  std::string src = source.empty() ? where_of(a.labels) : source;
  if (src.empty()) src = "tocsin";
  json details = {{"labels", labels_to_json(a.labels)},
                  {"annotations", labels_to_json(a.annotations)},
                  {"value", format_value(a.value)},
                  {"firing_since", format_local(a.starts_at, zone)},
                  {"text", render_text(single, zone, now, false)}};
  if (!a.escalation.policy.empty()) {
    details["escalation"] = "step " + std::to_string(a.escalation.step) + " of " +
                            std::to_string(a.escalation.steps) + " (" + a.escalation.policy + ")";
  }
  json payload = {{"summary", summary},
                  {"source", src},
                  {"severity", sev},
                  {"timestamp", format_rfc3339(a.starts_at)},
                  {"class", std::string(a.labels.get("alertname"))},
                  {"group", a.rule_group},
                  {"custom_details", details}};
  if (auto job = a.labels.get("job"); !job.empty()) payload["component"] = std::string(job);
  event["payload"] = payload;
  event["client"] = "tocsin";
  event["client_url"] = n.external_url;
  event["links"] = json::array({{{"href", n.alert_url(a)}, {"text", "Alert in tocsin"}}});
  if (auto runbook = a.annotations.get("runbook_url"); !runbook.empty()) {
    event["links"].push_back({{"href", std::string(runbook)}, {"text", "Runbook"}});
  }
  return event;
}

json to_slack_json(const Notification& n, const std::string& channel, const std::string& username,
                   const TimeZone& zone, Timestamp now) {
  json out = {{"text", "*" + render_title(n) + "*\n" + render_text(n, zone, now, true)}, {"mrkdwn", true}};
  if (!channel.empty()) out["channel"] = channel;
  if (!username.empty()) out["username"] = username;
  return out;
}

}  // namespace tocsin::alerting::detail
