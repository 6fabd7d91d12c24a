// The alert state file on its own: an alert's entry and back (and entries that do not fit the rule),
// a missing file that is no error, unusable ones with the reason, and writes skipped when nothing changed.
#include "tocsin/rules/state_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixtures/process.hpp"

namespace tocsin::rules {
namespace {

using alerting::AlertState;
using tocsin::testing::TempDir;

RuleDefinition tiered_rule(std::size_t tiers) {
  RuleDefinition rule;
  rule.kind = RuleDefinition::Kind::alerting;
  rule.name = "Full";
  for (std::size_t k = 0; k < tiers; ++k) rule.tiers.push_back({"tier" + std::to_string(k), {}, Duration(0)});
  return rule;
}

std::string content(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AlertStateJson, AnAlertRoundTripsWithoutItsValue) {
  AlertInstance a;
  a.labels = Labels{{"alertname", "Full"}, {"severity", "tier1"}};
  a.annotations = Labels{{"summary", "full"}};
  a.state = AlertState::firing;
  a.value = 0.97;
  a.active_at = 60'000;
  a.fired_at = 120'000;
  a.tier = 1;
  a.tier_since = {60'000, AlertInstance::kNever};
  const nlohmann::json entry = alert_state_json(a);
  EXPECT_FALSE(entry.contains("value"));
  EXPECT_FALSE(entry.contains("annotations"));
  EXPECT_TRUE(entry["keep_firing_since"].is_null());
  auto back = alert_from_state_json(nlohmann::json::parse(entry.dump()), tiered_rule(2));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->labels, a.labels);
  EXPECT_EQ(back->state, AlertState::firing);
  EXPECT_EQ(back->active_at, 60'000);
  EXPECT_EQ(back->fired_at, 120'000);
  EXPECT_EQ(back->keep_firing_since, AlertInstance::kNever);
  EXPECT_EQ(back->tier, 1);
  EXPECT_EQ(back->tier_since, a.tier_since);
  EXPECT_EQ(back->clear_since, AlertInstance::kNever);
}

TEST(AlertStateJson, EntriesThatDoNotFitTheRuleAreDropped) {
  const auto entry = [](const char* text) { return nlohmann::json::parse(text); };
  // Tier state for three tiers, the rule has two; a plain rule's entry with tier state; no labels; resolved.
  EXPECT_FALSE(alert_from_state_json(
      entry(R"({"labels":{"a":"1"},"state":"firing","tier":2,"tier_since":[0,0,0]})"), tiered_rule(2)));
  EXPECT_FALSE(
      alert_from_state_json(entry(R"({"labels":{"a":"1"},"tier":0,"tier_since":[0]})"), tiered_rule(0)));
  EXPECT_FALSE(alert_from_state_json(entry(R"({"labels":7})"), tiered_rule(0)));
  EXPECT_FALSE(alert_from_state_json(entry(R"({"labels":{"a":"1"},"state":"resolved"})"), tiered_rule(0)));
  EXPECT_TRUE(alert_from_state_json(entry(R"({"labels":{"a":"1"}})"), tiered_rule(0)));
  EXPECT_THROW(alert_from_state_json(entry("7"), tiered_rule(0)), std::exception);
  EXPECT_THROW(alert_from_state_json(entry(R"({"labels":{"a":"1"},"tier":"x"})"), tiered_rule(0)),
               std::exception);
}

TEST(AlertStateFile, AMissingFileIsNoErrorAndAnUnusableOneSaysWhy) {
  TempDir dir{"tocsin-state-file"};
  AlertStateFile file;
  EXPECT_FALSE(file.read().found);  // no path: nothing is read
  file.set_path((dir / "alerts.json").string());
  EXPECT_FALSE(file.read().found);
  dir.write("alerts.json", "{");
  EXPECT_EQ(file.read().error, "not JSON");
  dir.write("alerts.json", R"({"version":1})");
  EXPECT_EQ(file.read().error, "no \"groups\" list");
  std::error_code ec;
  const std::string aside = file.move_aside(1'234'567, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(aside, (dir / "alerts.json.corrupt-1234").string());
  EXPECT_TRUE(std::filesystem::exists(aside));
  EXPECT_FALSE(std::filesystem::exists(dir / "alerts.json"));
}

TEST(AlertStateFile, WritesOnlyWhatChanged) {
  TempDir dir{"tocsin-state-file"};
  AlertStateFile file;
  const nlohmann::json groups = nlohmann::json::parse(R"([{"group":"f;g","rules":[]}])");
  EXPECT_FALSE(file.write(groups));  // no path: nothing is written
  file.set_path((dir / "alerts.json").string());
  EXPECT_TRUE(file.write(groups));
  EXPECT_FALSE(file.write(groups));
  auto loaded = file.read();
  ASSERT_TRUE(loaded.found);
  EXPECT_TRUE(loaded.error.empty()) << loaded.error;
  EXPECT_EQ(loaded.groups, groups);
  EXPECT_NE(content(dir / "alerts.json").find("\"version\": 1"), std::string::npos)
      << content(dir / "alerts.json");
  // A file read back counts as written: the same state is not written again after a restart.
  AlertStateFile restarted;
  restarted.set_path((dir / "alerts.json").string());
  ASSERT_TRUE(restarted.read().error.empty());
  EXPECT_FALSE(restarted.write(groups));
  EXPECT_TRUE(restarted.write(nlohmann::json::array()));
}

}  // namespace
}  // namespace tocsin::rules
