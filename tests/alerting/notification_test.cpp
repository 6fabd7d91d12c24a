// AlertEvent's names are a wire and disk format: the webhook JSON's "event" field and the outbox in
// the state file. These tests pin each name, and that a stored notification reads back the event it
// was written with.

#include "alerting/notification.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tocsin::alerting::testing {
namespace {

using detail::AlertEvent;

const std::pair<AlertEvent, const char*> kNames[] = {
    {AlertEvent::triggered, "triggered"},       {AlertEvent::escalated, "escalated"},
    {AlertEvent::repeated, "repeated"},         {AlertEvent::rearmed, "rearmed"},
    {AlertEvent::acknowledged, "acknowledged"}, {AlertEvent::resolved, "resolved"},
    {AlertEvent::tier_changed, "tier_changed"}, {AlertEvent::refreshed, "refreshed"},
};

TEST(AlertEvent, NamesAreTheWireStrings) {
  for (const auto& [event, name] : kNames) {
    EXPECT_EQ(detail::to_string(event), name);
    EXPECT_EQ(detail::parse_alert_event(name), event) << name;
  }
}

TEST(AlertEvent, OtherStringsAreNoEvent) {
  for (const char* name : {"", "trigger", "resolve", "ack", "Triggered", "triggered "}) {
    EXPECT_FALSE(detail::parse_alert_event(name).has_value()) << '"' << name << '"';
  }
}

TEST(AlertEvent, StoredNotificationKeepsItsEvent) {
  for (const auto& [event, name] : kNames) {
    detail::Notification n;
    n.receiver = "r";
    n.group_key = "route0:{}";
    n.created_at = 1709546400000;
    detail::NotifiedAlert a;
    a.labels = Labels{{"alertname", "Down"}};
    a.fingerprint = fingerprint(a.labels);
    a.status = event == AlertEvent::resolved || event == AlertEvent::tier_changed ? "resolved" : "firing";
    a.event = event;
    a.starts_at = n.created_at;
    n.alerts.push_back(a);
    nlohmann::json j = detail::to_webhook_json(n);
    EXPECT_EQ(j["alerts"][0]["event"], name);
    EXPECT_EQ(detail::notification_from_json(j).alerts.at(0).event, event) << name;
  }
}

// A tier change says which way it went, from what to what; stored, it keeps both; Alertmanager gets
// a tiered alert without the severity label (its fingerprint stays), the severity as an annotation.
TEST(AlertEvent, ATierChangeSaysFromWhatToWhat) {
  detail::Notification n;
  n.receiver = "r";
  n.group_key = "route0:{}";
  n.created_at = 1709546400000;
  detail::NotifiedAlert a;
  a.labels = Labels{{"alertname", "DiskFull"}, {"instance", "db-1"}, {"severity", "critical"}};
  a.fingerprint = "0123456789abcdef";
  a.status = "firing";
  a.event = AlertEvent::escalated;
  a.tiered = true;
  a.previous_severity = "warning";
  a.starts_at = n.created_at;
  n.alerts.push_back(a);
  const auto utc = detail::TimeZone::utc();
  const detail::TimeZone& zone = *utc;
  EXPECT_TRUE(detail::render_text(n, zone, n.created_at, false)
                  .starts_with("ESCALATED warning -> critical: DiskFull on db-1\n"))
      << detail::render_text(n, zone, n.created_at, false);
  nlohmann::json j = detail::to_webhook_json(n);
  EXPECT_EQ(j["alerts"][0]["previousSeverity"], "warning");
  auto back = detail::notification_from_json(j).alerts.at(0);
  EXPECT_EQ(back.previous_severity, "warning");
  EXPECT_TRUE(back.tiered);
  nlohmann::json am = detail::to_alertmanager_json(n, n.created_at, std::chrono::minutes(4));
  EXPECT_FALSE(am[0]["labels"].contains("severity"));
  EXPECT_EQ(am[0]["annotations"]["severity"], "critical");
  n.alerts[0].event = AlertEvent::tier_changed;
  n.alerts[0].labels = Labels{{"alertname", "DiskFull"}, {"instance", "db-1"}, {"severity", "warning"}};
  n.alerts[0].previous_severity = "critical";
  EXPECT_TRUE(detail::render_text(n, zone, n.created_at, false)
                  .starts_with("SEVERITY LOWERED critical -> warning: DiskFull"));
}

TEST(AlertEvent, UnknownStoredEventIsMalformed) {
  detail::Notification n;
  n.alerts.emplace_back();
  n.alerts[0].status = "firing";
  nlohmann::json j = detail::to_webhook_json(n);
  j["alerts"][0]["event"] = "exploded";
  EXPECT_THROW(detail::notification_from_json(j), std::invalid_argument);
}

}  // namespace
}  // namespace tocsin::alerting::testing
