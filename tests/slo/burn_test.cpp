// Budget figures, burn rates, the forecast and the alert decisions against hand-computed values.
#include "tocsin/slo/burn.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace tocsin::slo {
namespace {

using namespace std::chrono_literals;
constexpr Timestamp kBurnMin = 60'000;
constexpr Timestamp kBurnDay = 86'400'000;

Definition availability() {
  Definition d;
  d.name = "api";
  d.service = "api";
  d.objective = 0.999;
  d.window = 720h;
  d.page.windows = default_page_windows(d.window);
  d.ticket.windows = default_ticket_windows(d.window);
  return d;
}

// 30 days of 100 requests a minute without errors, then the last hour at 2 % errors.
History burning_hour() {
  History h(720h, 5min);
  const Timestamp end = 30 * kBurnDay;
  for (Timestamp t = kBurnMin; t <= end; t += kBurnMin) {
    const bool last_hour = t > end - 60 * kBurnMin;
    h.record(t - kBurnMin, t, {.bad = last_hour ? 2.0 : 0.0, .total = 100});
  }
  return h;
}

TEST(SloBurn, FiguresOfABurningHour) {
  const Definition d = availability();
  const History h = burning_hour();
  const Status s = evaluate(d, h, 30 * kBurnDay);
  ASSERT_EQ(s.windows.size(), 8u);
  EXPECT_EQ(s.windows[0].name, "5m");
  EXPECT_EQ(s.windows[6].name, "3d");
  EXPECT_EQ(s.period().name, "30d");
  EXPECT_NEAR(s.windows[0].error_ratio, 0.02, 1e-12);  // 5m
  EXPECT_NEAR(s.windows[2].error_ratio, 0.02, 1e-12);  // 1h
  EXPECT_NEAR(s.windows[2].burn_rate, 20, 1e-9);
  EXPECT_NEAR(s.windows[3].error_ratio, 0.01, 1e-12);            // 2h: 120 of 12000
  EXPECT_NEAR(s.windows[5].error_ratio, 120.0 / 144000, 1e-12);  // 1d
  // The period: 120 errors of 4,320,000 requests: 2.78 % of the budget consumed.
  EXPECT_NEAR(s.period().error_ratio, 120.0 / 4'320'000, 1e-12);
  EXPECT_NEAR(s.budget_consumed, 120.0 / 4320, 1e-9);
  EXPECT_NEAR(s.budget_remaining, 1 - 120.0 / 4320, 1e-9);
  // At 20x, the remaining 97.2 % of 30 days' budget lasts 0.9722 * 30d / 20 = 126,000 s (35 hours).
  EXPECT_NEAR(s.exhaustion_seconds, (1 - 120.0 / 4320) * 2'592'000 / 20, 1e-3);

  const BurnDecision page = decide(d, d.page, h, 30 * kBurnDay);
  ASSERT_TRUE(page.holds);
  EXPECT_EQ(page.pair, &d.page.windows[0]);  // 1h/5m above 14.4; 6h is 3.3x, below 6
  EXPECT_NEAR(page.long_burn, 20, 1e-9);
  EXPECT_NEAR(page.long_events, 6000, 1e-9);
  EXPECT_NEAR(page.budget_spent, 120.0 / 4320, 1e-9);
  EXPECT_FALSE(decide(d, d.ticket, h, 30 * kBurnDay).holds);  // 1d at 0.83x, 3d at 0.28x
  EXPECT_EQ(describe_burn(d, page, s),
            "2.8 % of the 30-day budget spent in the last hour; at this rate it is gone in 35 hours");
  EXPECT_FALSE(exhausted(s));
}

TEST(SloBurn, TheLowTrafficGuards) {
  Definition d = availability();
  const History h = burning_hour();
  d.page.min_events = 6001;  // the hour holds 6000 requests
  EXPECT_FALSE(decide(d, d.page, h, 30 * kBurnDay).holds);
  d.page.min_events = 6000;
  EXPECT_TRUE(decide(d, d.page, h, 30 * kBurnDay).holds);
  d.page.min_budget_spent = 0.03;  // the hour's errors spent 2.78 % of the budget
  EXPECT_FALSE(decide(d, d.page, h, 30 * kBurnDay).holds);
  d.page.min_budget_spent = 0.02;
  EXPECT_TRUE(decide(d, d.page, h, 30 * kBurnDay).holds);
  d.page.enabled = false;
  EXPECT_FALSE(decide(d, d.page, h, 30 * kBurnDay).holds);
}

TEST(SloBurn, ASpentBudgetAndNoData) {
  const Definition d = availability();
  History h(720h, 5min);
  for (Timestamp t = kBurnMin; t <= 2 * kBurnDay; t += kBurnMin)
    h.record(t - kBurnMin, t, {.bad = 0.2, .total = 100});
  const Status s = evaluate(d, h, 2 * kBurnDay);
  EXPECT_NEAR(s.budget_consumed, 2, 1e-9);  // 0.2 % errors against a 0.1 % budget
  // Two days of errors at twice the budget's rate are 2 * 2/30 of what 30 days of that traffic allow: the
  // window is not lost yet (28 good days would bring it back).
  EXPECT_NEAR(s.window_budget_spent, 2.0 * 2 / 30, 1e-9);
  EXPECT_FALSE(exhausted(s));
  // At 2x the other 86.7 % of the window's budget last 0.867 * 30 days / 2 = 13 days.
  EXPECT_NEAR(s.exhaustion_seconds, (1 - 2.0 * 2 / 30) * 2'592'000 / 2, 1e-3);
  // Fifteen days of them are the whole window's budget; an hour more, 0.28 % over it.
  History half(720h, 5min);
  const Timestamp end = 15 * kBurnDay + 60 * kBurnMin;
  for (Timestamp t = 5 * kBurnMin; t <= end; t += 5 * kBurnMin) {
    half.record(t - 5 * kBurnMin, t, {.bad = 1, .total = 500});
  }
  const Status spent = evaluate(d, half, end);
  EXPECT_NEAR(spent.window_budget_spent, 2.0 * (15 * 24 + 1) / 720, 1e-9);
  EXPECT_TRUE(exhausted(spent));
  EXPECT_EQ(spent.exhaustion_seconds, 0);
  EXPECT_EQ(describe_exhausted(d, spent),
            "the 30-day budget is spent: the errors so far are 100 % of what the window allows");
  // The ticket's 3d/6h pair at 2x holds (above 1), its 1d/2h pair does not (below 3).
  const BurnDecision ticket = decide(d, d.ticket, h, 2 * kBurnDay);
  ASSERT_TRUE(ticket.holds);
  EXPECT_EQ(ticket.pair, &d.ticket.windows[1]);
  // The history is 2 days old: spent in them at 2x, 2 * 2d / 30d (the budget is a ratio, as in Sloth).
  EXPECT_EQ(ticket.covered, 48h);
  EXPECT_EQ(describe_burn(d, ticket, s),
            "13 % of the 30-day budget spent in the last 2 days; at this rate it is gone in 13 days");

  const History empty(720h, 5min);
  const Status none = evaluate(d, empty, 2 * kBurnDay);
  EXPECT_TRUE(std::isnan(none.windows[0].error_ratio));
  EXPECT_TRUE(std::isnan(none.budget_remaining));
  EXPECT_TRUE(std::isinf(none.exhaustion_seconds));
  EXPECT_FALSE(exhausted(none));
  EXPECT_FALSE(decide(d, d.page, empty, 2 * kBurnDay).holds);
}

TEST(SloBurn, Words) {
  EXPECT_EQ(words_for_seconds(45), "45 seconds");
  EXPECT_EQ(words_for_seconds(60), "60 seconds");
  EXPECT_EQ(words_for_seconds(12 * 60), "12 minutes");
  EXPECT_EQ(words_for_seconds(3600), "60 minutes");
  EXPECT_EQ(words_for_seconds(5 * 3600), "5 hours");
  EXPECT_EQ(words_for_seconds(2 * 86400), "2 days");
  EXPECT_EQ(words_for_seconds(1.5 * 86400), "1.5 days");
  EXPECT_EQ(words_for_seconds(25 * 86400), "25 days");
  EXPECT_EQ(words_for_span(1h), "hour");
  EXPECT_EQ(words_for_span(6h), "6 hours");
  EXPECT_EQ(words_for_span(24h), "day");
  EXPECT_EQ(words_for_span(5min), "5 minutes");
  EXPECT_EQ(percent_text(0.021), "2.1");
  EXPECT_EQ(percent_text(0.0052), "0.52");
  EXPECT_EQ(percent_text(0.144), "14");
  EXPECT_EQ(percent_text(1), "100");
}

}  // namespace
}  // namespace tocsin::slo
