#include "tocsin/http/status_page.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include "tocsin/core/duration.hpp"
#include "tocsin/http/humanize.hpp"

namespace tocsin::http {

namespace {

std::string esc(std::string_view s) { return html_escape(s); }

std::string age(Timestamp from, Timestamp now) {
  if (from == 0) return "never";
  Timestamp d = std::max<Timestamp>(0, now - from);
  d = d >= 60'000 ? d / 60'000 * 60'000 : d / 1000 * 1000;
  return format_duration(Duration(d));
}

// Time until `to`, rounded as age() rounds ("3m", "20s"); "now" when due.
std::string until(Timestamp to, Timestamp now) {
  if (to <= now) return "now";
  return "in " + age(now - (to - now), now);
}

std::string seconds_text(double s) { return format_duration(Duration(static_cast<Timestamp>(s * 1000))); }

// The rule an alert came from: its group key is "<file>;<group>" (rules::GroupDefinition::key).
const RuleStatus* rule_of(const alerting::AlertView& a, const std::vector<RuleStatus>& rules) {
  const auto name = a.labels.get("alertname");
  const RuleStatus* by_name = nullptr;
  for (const auto& r : rules) {
    if (!r.alerting || r.name != name) continue;
    if (r.group_file + ";" + r.group == a.rule_group) return &r;
    if (by_name == nullptr) by_name = &r;
  }
  return by_name;
}

Unit unit_for(const alerting::AlertView& a, const RuleStatus* rule) {
  if (auto u = a.annotations.get("unit"); !u.empty()) return unit_from_name(u);
  if (auto u = a.labels.get("unit"); !u.empty()) return unit_from_name(u);
  if (rule == nullptr) return Unit::none;
  return unit_of(rule->unit, rule->expr);
}

// When a pending alert fires if it keeps holding: its tier's `for` (the one named by its
// severity), else the rule's. 0: unknown.
Timestamp fires_at(const alerting::AlertView& a, const RuleStatus* rule) {
  if (rule == nullptr || a.active_at == 0) return 0;
  double for_seconds = rule->for_seconds;
  for (const auto& t : rule->tiers) {
    if (t.severity == a.severity) for_seconds = t.for_seconds;
  }
  return a.active_at + static_cast<Timestamp>(for_seconds * 1000);
}

// The machine's host name, or "" when it has none.
std::string machine_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string where_of(const Labels& labels) {
  for (const char* key : {"instance", "target", "job", "host"}) {
    if (auto v = labels.get(key); !v.empty()) return std::string(v);
  }
  return "";
}

const char* kStyle = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:12px 20px}header h1{margin:0;font-size:20px}header .who{font-weight:normal;opacity:.8;margin-left:8px}
header p{margin:4px 0 0;color:#c4cad2}main{padding:8px 20px 40px;max-width:1400px}
h2{font-size:16px;margin:24px 0 8px}table{border-collapse:collapse;width:100%;background:#fff;
box-shadow:0 1px 2px rgba(0,0,0,.08)}th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e4e7eb;
vertical-align:top}
th{background:#eef0f3;font-weight:600;font-size:12px;text-transform:uppercase;color:#4a5561}
.sev{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;
background:#6b7785}
.sev-critical{background:#c62828}.sev-error{background:#d84315}.sev-warning{background:#ef8f00}
.sev-info{background:#1565c0}
.tag{display:inline-block;padding:0 6px;margin:1px 2px 1px 0;border-radius:4px;font-size:12px;
background:#e8eaed}
.ack{background:#c8e6c9}.silenced{background:#d1c4e9}.inhibited{background:#e0e0e0}.flap{background:#ffe0b2}
.up{color:#2e7d32;font-weight:600}.down{color:#c62828;font-weight:600}.muted{color:#6b7785}
.labels{color:#4a5561;font-size:12px}.nowrap{white-space:nowrap}
.pending{background:#fff3cd}.problems{background:#fdecea;border-left:4px solid #c62828;padding:8px 12px;
margin:12px 0}.problems h2{margin:0 0 6px;color:#c62828}.problems ul{margin:0;padding-left:18px}
h3{font-size:14px;margin:16px 0 6px}pre{white-space:pre-wrap;word-break:break-word;font-size:12px;
background:#eef0f3;padding:6px;margin:4px 0}.value{font-weight:600;white-space:nowrap}
@media (max-width:700px){main{padding:6px 8px 30px}th,td{padding:4px 5px}header{padding:10px}
table{display:block;overflow-x:auto}
.alerts,.alerts tbody,.alerts tr,.alerts td{display:block;width:auto}.alerts thead{display:none}
.alerts tr{border-bottom:1px solid #e4e7eb;padding:4px 0}.alerts td{border:0;padding:2px 8px}}
code{font-size:12px;background:#eef0f3;padding:0 4px;border-radius:3px}
details summary{cursor:pointer;color:#1565c0}.empty{padding:12px;background:#fff;color:#2e7d32}
tr:target{outline:2px solid #1565c0}
)";

std::string labels_line(const Labels& labels) {
  std::string out;
  for (const Label& l : labels) {
    if (l.name == "alertname" || l.name == "severity") continue;
    out += (out.empty() ? "" : ", ") + esc(l.name) + "=" + esc(l.value);
  }
  return out;
}

std::string state_tags(const alerting::AlertView& a, const alerting::Dispatcher& d) {
  std::string out;
  if (a.ack) {
    out +=
        "<span class=\"tag ack\">acknowledged by " + esc(a.ack->by) + " at " + esc(d.display_time(a.ack->at));
    if (a.ack->expires_at != 0) out += " until " + esc(d.display_time(a.ack->expires_at));
    out += "</span>";
    if (!a.ack->comment.empty())
      out += " <span class=\"muted\">&ldquo;" + esc(a.ack->comment) + "&rdquo;</span>";
  }
  for (const auto& s : a.silenced_by)
    out += "<span class=\"tag silenced\">silenced (" + esc(s.substr(0, 8)) + ")</span>";
  if (!a.inhibited_by.empty())
    out += "<span class=\"tag inhibited\">inhibited by " + esc(a.inhibited_by[0]) + "</span>";
  if (!a.muted_by.empty()) out += "<span class=\"tag silenced\">muted: " + esc(a.muted_by) + "</span>";
  if (a.flapping)
    out += "<span class=\"tag flap\">flapping (" + std::to_string(a.state_changes) + " changes)</span>";
  if (a.state == alerting::AlertState::resolved) out += "<span class=\"tag\">resolved, settling</span>";
  if (out.empty()) out = "<span class=\"muted\">unacknowledged</span>";
  return out;
}

// A pending alert has no acknowledgement or escalation yet: it says when it fires.
std::string pending_tag(const alerting::AlertView& a, const RuleStatus* rule, Timestamp now) {
  std::string out = "<span class=\"tag pending\">pending";
  if (Timestamp at = fires_at(a, rule); at != 0) out += ", fires " + esc(until(at, now)) + " if it holds";
  out += "</span>";
  for (const auto& s : a.silenced_by)
    out += "<span class=\"tag silenced\">silenced (" + esc(s.substr(0, 8)) + ")</span>";
  return out;
}

// The rule behind an alert, one click away: expression, thresholds and `for`.
std::string rule_details(const RuleStatus& r) {
  std::string out = "<p><b>Rule</b> " + esc(r.name) + " <span class=\"muted\">(group " + esc(r.group) +
                    (r.group_file.empty() ? std::string() : ", " + esc(r.group_file)) + ")</span></p><pre>" +
                    esc(r.expr) + "</pre>";
  if (!r.tiers.empty()) {
    out += "<p><b>Thresholds:</b> ";
    bool first = true;
    for (const auto& t : r.tiers) {
      out += (first ? "" : "; ") + esc(t.severity) + " <code>" + esc(t.threshold) + "</code> for " +
             esc(seconds_text(t.for_seconds));
      first = false;
    }
    out += "</p>";
  } else {
    out += "<p><b>for</b> " + esc(seconds_text(r.for_seconds)) + "</p>";
  }
  if (!r.last_error.empty()) out += "<p class=\"down\">last evaluation failed: " + esc(r.last_error) + "</p>";
  return out;
}

std::string step_cell(const alerting::AlertView& a, const alerting::Dispatcher& d) {
  std::string out;
  if (a.state == alerting::AlertState::pending)
    return "<span class=\"muted\">not notified while pending</span>";
  if (a.step == 0) {
    out = "<span class=\"muted\">not notified yet</span>";
  } else {
    out = "step " + std::to_string(a.step) + "/" + std::to_string(a.steps);
    if (!a.policy.empty()) out += " <span class=\"muted\">(" + esc(a.policy) + ")</span>";
    std::string who;
    for (const auto& r : a.step_receivers) who += (who.empty() ? "" : ", ") + esc(r);
    if (!who.empty()) out += "<br>" + who;
    if (a.step_at != 0)
      out += "<br><span class=\"muted\">since " + esc(d.display_time(a.step_at)) + "</span>";
  }
  // While acknowledged nothing escalates; the next step's time is known again once it re-arms.
  if (a.next_step_at != 0) {
    out += a.ack ? "<br><span class=\"muted\">next step paused while acknowledged</span>"
                 : "<br><span class=\"muted\">next at " + esc(d.display_time(a.next_step_at)) + "</span>";
  }
  return out;
}

void alert_rows(std::string& html, const std::vector<alerting::AlertView>& alerts,
                const alerting::Dispatcher& d, Timestamp now, const std::vector<RuleStatus>& rules) {
  html +=
      "<table "
      "class=\"alerts\"><thead><tr><th>Severity</th><th>Alert</th><th>Where</th><th>Since</th><th>Value</th>"
      "<th>Escalation</th><th>State</th></tr></thead><tbody>\n";
  for (const auto& a : alerts) {
    std::string sev = a.severity.empty() ? "none" : a.severity;
    Timestamp since = a.state == alerting::AlertState::pending ? a.active_at : a.fired_at;
    const RuleStatus* rule = rule_of(a, rules);
    html += "<tr id=\"alert-" + esc(a.id) + "\"><td><span class=\"sev sev-" + esc(sev) + "\">" + esc(sev) +
            "</span></td><td><b>" + esc(a.labels.get("alertname")) + "</b>";
    if (auto summary = a.annotations.get("summary"); !summary.empty()) html += "<br>" + esc(summary);
    html += "<br><span class=\"labels\">" + labels_line(a.labels) + "</span>";
    auto description = a.annotations.get("description");
    auto runbook = a.annotations.get("runbook_url");
    if (!runbook.empty()) html += "<br>" + link_html(runbook, "runbook");
    html += "<details><summary>expression, threshold, details</summary>";
    if (!description.empty()) html += "<p><b>Check first:</b> " + esc(description) + "</p>";
    if (rule != nullptr) html += rule_details(*rule);
    // Other links the rule's annotations carry (dashboard_url, generator URLs): links only when web links.
    for (const Label& l : a.annotations) {
      if (l.name == "runbook_url" || l.name.size() < 4 || l.name.substr(l.name.size() - 4) != "_url")
        continue;
      html += "<p>" + esc(l.name) + ": " + link_html(l.value, l.value) + "</p>";
    }
    html += "<p>id <code>" + esc(a.id) + "</code>; acknowledge with <code>tocsin ack " + esc(a.id) +
            " --by NAME</code></p>";
    if (!a.notified.empty()) {
      std::string who;
      for (const auto& r : a.notified) who += (who.empty() ? "" : ", ") + esc(r);
      html += "<p>notified: " + who + "</p>";
    }
    html += "</details></td><td class=\"nowrap\">" + esc(where_of(a.labels)) + "</td><td>" +
            esc(d.display_time(since)) + "<br><span class=\"muted\">" + esc(age(since, now)) +
            " ago</span></td><td class=\"value\">" + esc(humanize_value(a.value, unit_for(a, rule))) +
            "</td><td>" + step_cell(a, d) + "</td><td>" +
            (a.state == alerting::AlertState::pending ? pending_tag(a, rule, now) : state_tags(a, d)) +
            "</td></tr>\n";
  }
  html += "</tbody></table>\n";
}

}  // namespace

std::string render_status_page(const alerting::Dispatcher& dispatcher, Timestamp now,
                               const std::vector<CollectorStatus>& collectors,
                               const std::vector<SloStatus>& slos, const std::vector<RuleStatus>& rules,
                               const std::string& slow_now, const std::string& host_fallback, bool runbooks) {
  std::vector<alerting::AlertView> firing;
  std::vector<alerting::AlertView> pending;
  for (auto& a : dispatcher.alerts()) {
    (a.state == alerting::AlertState::pending ? pending : firing).push_back(std::move(a));
  }
  std::map<std::string, int> by_severity;
  int unacked = 0;
  for (const auto& a : firing) {
    ++by_severity[a.severity.empty() ? "none" : a.severity];
    if (!a.ack && a.silenced_by.empty() && a.inhibited_by.empty()) ++unacked;
  }
  int down = static_cast<int>(std::count_if(collectors.begin(), collectors.end(),
                                            [](const CollectorStatus& c) { return c.collected && !c.up; }));
  std::string summary = std::to_string(firing.size()) + " firing";
  for (const auto& [sev, n] : by_severity) summary += ", " + std::to_string(n) + " " + sev;
  summary += "; " + std::to_string(unacked) + " unacknowledged; " + std::to_string(pending.size()) +
             " pending; " + std::to_string(down) + " of " + std::to_string(collectors.size()) +
             " collectors down";

  // Which daemon this is (the top-level `labels:`, e.g. host=db-1), so a page opened from a
  // notification on a fleet says whose it is: its host (instance, host or hostname label; else the
  // machine's name) in the title and header, every label beside it.
  const auto external = dispatcher.external_labels();
  std::string host;
  for (const char* key : {"host", "instance", "hostname", "node"}) {
    if (auto it = external.find(key); it != external.end() && !it->second.empty()) {
      host = it->second;
      break;
    }
  }
  if (host.empty()) host = host_fallback.empty() ? machine_host_name() : host_fallback;
  std::string identity;
  for (const auto& [name, value] : external) identity += (identity.empty() ? "" : " ") + name + "=" + value;

  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"refresh\" content=\"30\"><title>" +
      (host.empty() ? std::string() : esc(host) + " &middot; ") + "tocsin: " + esc(summary) +
      "</title><style>" + kStyle + "</style></head><body>\n";
  html += "<header><h1>" + (host.empty() ? std::string() : esc(host) + " &middot; ") + "tocsin" +
          (identity.empty() ? "" : " <span class=\"who\">" + esc(identity) + "</span>") + "</h1><p>" +
          esc(summary) + " &middot; as of " + esc(dispatcher.display_time(now)) + "</p></header><main>\n";

  // What is broken in tocsin itself comes first: a down collector means its alerts cannot fire, a
  // failing rule that its alert cannot.
  std::string problems;
  for (const auto& c : collectors) {
    if (!c.collected || c.up) continue;
    problems += "<li><span class=\"down\">collector down</span> " + esc(c.kind) + " <b>" + esc(c.name) +
                "</b>" +
                (c.last_success == 0 ? std::string(", never collected")
                                     : ", last success " + esc(age(c.last_success, now)) + " ago") +
                (c.last_error.empty() ? std::string() : ": " + esc(c.last_error)) + "</li>\n";
  }
  for (const auto& r : rules) {
    if (r.last_error.empty()) continue;
    problems += "<li><span class=\"down\">rule failing</span> group <b>" + esc(r.group) + "</b>, rule " +
                esc(r.name) + ": " + esc(r.last_error) + "</li>\n";
  }
  if (!problems.empty()) {
    html += "<section class=\"problems\" id=\"problems\"><h2>Not watching everything</h2><ul>\n" + problems +
            "</ul></section>\n";
  }

  html += "<h2>Firing</h2>\n";
  if (firing.empty()) {
    html += "<div class=\"empty\">Nothing is firing.</div>\n";
  } else {
    alert_rows(html, firing, dispatcher, now, rules);
  }
  if (!pending.empty()) {
    html += "<h2>Pending</h2>\n";
    alert_rows(html, pending, dispatcher, now, rules);
  }
  html += slow_now;

  if (!slos.empty()) {
    html +=
        "<h2>SLOs</h2>\n<table><thead><tr><th>SLO</th><th>Objective</th><th>Budget left</th>"
        "<th>Burn rate (1h)</th><th>Gone in</th><th>Alert</th></tr></thead><tbody>\n";
    for (const auto& o : slos) {
      char objective[32], left[32], burn[32];
      std::snprintf(objective, sizeof objective, "%.6g %% over %s", o.objective, o.window.c_str());
      std::snprintf(left, sizeof left, "%.1f %%", o.budget_remaining * 100);
      std::snprintf(burn, sizeof burn, "%.3gx", o.burn_rate_1h);
      const bool spent = !std::isnan(o.budget_remaining) && o.budget_remaining <= 0;
      const std::string left_html = std::isnan(o.budget_remaining) ? "<span class=\"muted\">no data</span>"
                                    : spent ? "<span class=\"down\">" + std::string(left) + "</span>"
                                            : std::string(left);
      const std::string gone = std::isinf(o.exhaustion_seconds) || std::isnan(o.exhaustion_seconds)
                                   ? std::string("&mdash;")
                                   : esc(age(now - static_cast<Timestamp>(o.exhaustion_seconds * 1000), now));
      html += "<tr><td>" + esc(o.service) + " / " + esc(o.name) + "</td><td>" + esc(objective) + "</td><td>" +
              left_html + "</td><td>" + (std::isnan(o.burn_rate_1h) ? std::string("&mdash;") : esc(burn)) +
              "</td><td>" + gone + "</td><td>" +
              (o.alert_state == "firing" ? "<span class=\"down\">firing</span>" : esc(o.alert_state)) +
              "</td></tr>\n";
    }
    html += "</tbody></table>\n";
  }

  html += "<h2>Silences</h2>\n";
  std::vector<alerting::Silence> silences;
  for (auto& s : dispatcher.silences()) {
    if (s.status(now) != "expired") silences.push_back(std::move(s));
  }
  if (silences.empty()) {
    html += "<div class=\"empty muted\">No active silences.</div>\n";
  } else {
    html +=
        "<table><thead><tr><th>Matchers</th><th>State</th><th>From</th><th>Until</th><th>By</th>"
        "<th>Comment</th><th>Id</th></tr></thead><tbody>\n";
    for (const auto& s : silences) {
      std::string matchers;
      for (const auto& m : s.matchers) matchers += "<code>" + esc(config::to_string(m)) + "</code> ";
      html += "<tr><td>" + matchers + "</td><td>" + esc(s.status(now)) + "</td><td>" +
              esc(dispatcher.display_time(s.starts_at)) + "</td><td>" +
              esc(dispatcher.display_time(s.ends_at)) + "</td><td>" + esc(s.created_by) + "</td><td>" +
              esc(s.comment) + "</td><td><code>" + esc(s.id) + "</code></td></tr>\n";
    }
    html += "</tbody></table>\n";
  }

  html += "<h2>Collectors</h2>\n";
  if (collectors.empty()) {
    html += "<div class=\"empty muted\">No collectors configured.</div>\n";
  } else {
    html +=
        "<table><thead><tr><th>Collector</th><th>Target</th><th>Health</th><th>Last success</th>"
        "<th>Last cycle</th><th>Interval</th><th>Last error</th></tr></thead><tbody>\n";
    for (const auto& c : collectors) {
      std::string health = !c.collected ? "<span class=\"muted\">starting</span>"
                           : c.up       ? "<span class=\"up\">up</span>"
                                        : "<span class=\"down\">down</span>";
      if (!c.claim.empty())
        health += " <span class=\"muted\">(" + esc(c.claim) + ")</span>";  // shared target
      char duration[32];
      std::snprintf(duration, sizeof duration, "%.3fs", c.last_duration_seconds);
      html += "<tr><td>" + esc(c.kind) + "</td><td>" + esc(c.name) + "</td><td>" + health + "</td><td>" +
              (c.last_success == 0 ? std::string("never") : esc(age(c.last_success, now)) + " ago") +
              "</td><td>" + (c.collected ? duration : "") + "</td><td>" + esc(format_duration(c.interval)) +
              "</td><td>" + esc(c.last_error) + "</td></tr>\n";
    }
    html += "</tbody></table>\n";
  }

  alerting::OutboxStatus outbox = dispatcher.outbox();
  html += "<h2>Notifications</h2>\n<p>" + std::to_string(outbox.queued) + " queued (" +
          std::to_string(outbox.in_flight) + " in flight) of at most " + std::to_string(outbox.capacity) +
          ". APIs: <a href=\"/api/v1/alerts\">/api/v1/alerts</a>, <a "
          "href=\"/api/v1/silences\">/api/v1/silences</a>, "
          "<a href=\"/metrics\">/metrics</a>" +
          (runbooks ? std::string(", runbooks: <a href=\"/runbooks\">/runbooks</a>") : std::string()) +
          ".</p>\n";
  html += "</main></body></html>\n";
  return html;
}

namespace {

// GET / as an endpoint object; add_status_page registers it.
class StatusPage {
 public:
  StatusPage(const alerting::Dispatcher& dispatcher, const Clock& clock, CollectorStatusSource collectors,
             SloStatusSource slos, StatusPageExtras extras)
      : dispatcher_(dispatcher),
        clock_(clock),
        collectors_(std::move(collectors)),
        slos_(std::move(slos)),
        extras_(std::move(extras)) {}

  // Rendered afresh for every request, never cached by the browser (it refreshes itself).
  Response page(const Request&) const {
    const Timestamp now = clock_.now_ms();
    Response r =
        Response::html(200, render_status_page(dispatcher_, now,
                                               collectors_ ? collectors_() : std::vector<CollectorStatus>{},
                                               slos_ ? slos_() : std::vector<SloStatus>{},
                                               extras_.rules ? extras_.rules() : std::vector<RuleStatus>{},
                                               extras_.slow_now ? extras_.slow_now(now) : std::string(),
                                               extras_.host, extras_.runbooks && extras_.runbooks()));
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
  }

 private:
  const alerting::Dispatcher& dispatcher_;
  const Clock& clock_;
  CollectorStatusSource collectors_;
  SloStatusSource slos_;
  StatusPageExtras extras_;
};

}  // namespace

void add_status_page(Router& router, const alerting::Dispatcher& dispatcher, const Clock& clock,
                     CollectorStatusSource collectors, SloStatusSource slos, StatusPageExtras extras) {
  auto page = std::make_shared<const StatusPage>(dispatcher, clock, std::move(collectors), std::move(slos),
                                                 std::move(extras));
  router.add("GET", "/", endpoint_handler(page, &StatusPage::page));
}

}  // namespace tocsin::http
