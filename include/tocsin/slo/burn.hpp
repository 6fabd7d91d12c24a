#pragma once
// What an SLO's history says at a time: SLI error ratios over the standard windows and the whole
// window, budget consumed and remaining, burn rates, the exhaustion forecast; whether the page, ticket
// and exhausted alerts hold; and the notification's words. Pure functions of a Definition and a History.

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "tocsin/slo/definition.hpp"
#include "tocsin/slo/history.hpp"

namespace tocsin::slo {

// One window's figures. error_ratio and burn_rate are NaN when the window holds no events (no data).
struct WindowFigures {
  Duration span{0};
  std::string name;  // Sloth's sloth_window: "5m", "1h", "1d", "30d"
  Totals totals;
  double error_ratio = 0;
  double burn_rate = 0;  // error_ratio / error budget
};

// The windows Sloth records (slo:sli_error:ratio_rate<name>), shortest first; the whole window comes after.
inline constexpr std::array<Duration, 7> kStandardWindows = {
    std::chrono::minutes(5), std::chrono::minutes(30), std::chrono::hours(1), std::chrono::hours(2),
    std::chrono::hours(6),   std::chrono::hours(24),   std::chrono::hours(72)};

struct Status {
  Timestamp time = 0;
  std::vector<WindowFigures> windows;  // kStandardWindows, then the SLO's window
  const WindowFigures& period() const { return windows.back(); }
  // Over the whole window: the share of the error budget spent (period error ratio / budget; Sloth's
  // slo:period_burn_rate:ratio) and what is left (1 - consumed, may go below 0). NaN without data.
  double budget_consumed = 0;
  double budget_remaining = 0;
  // The errors so far against the budget of the whole window's traffic (the traffic seen, projected over
  // the window while the history is younger than it): what no later good traffic can undo. Equal to
  // budget_consumed once the history covers the window. NaN without data.
  double window_budget_spent = 0;
  // At the 1h burn rate, seconds until the window's budget is gone (window_budget_spent reaches 1): 0 when
  // already spent, +Inf when not burning (or without data).
  double exhaustion_seconds = 0;
};

// The figures of `d`'s history at `now`.
Status evaluate(const Definition& d, const History& h, Timestamp now);

// Whether a burn alert holds, and through which pair (the first that holds, in the order given).
struct BurnDecision {
  bool holds = false;
  const BurnWindow* pair = nullptr;  // set when holds
  double long_burn = 0;
  double short_burn = 0;
  double long_events = 0;
  double budget_spent = 0;  // share (0..1) of the window's budget the long window's errors spent
  Duration covered{0};      // how much of the long window the history covers (less while it is young)
};

// A pair holds when the burn rates over its long and its short window are both above its factor, the long
// window holds at least min_events events (event SLIs), and its errors spent at least min_budget_spent of
// the budget the whole window's traffic allows.
BurnDecision decide(const Definition& d, const BurnAlert& alert, const History& h, Timestamp now);
// The window's budget is spent: the errors so far are at least what the whole window's traffic allows
// (window_budget_spent >= 1), so no good traffic to come can bring the window back within its objective.
bool exhausted(const Status& s);

// The budget-spent share a burn rate means over `span`: burn * span / window (0..1).
double budget_share(const Definition& d, double burn, Duration span);

// "2.1 % of the 30-day budget spent in the last hour; at this rate it is gone in 2 days". While the
// history is younger than the long window, the span is what it covers ("in the last 20 minutes").
std::string describe_burn(const Definition& d, const BurnDecision& decision, const Status& s);
// "the 30-day budget is spent: the errors so far are 104 % of what the window allows".
std::string describe_exhausted(const Definition& d, const Status& s);
// A length of time in words, rounded: "40 seconds", "12 minutes", "5 hours", "2 days", "1.5 days".
std::string words_for_seconds(double seconds);
// A window in words after "the last": "hour", "6 hours", "day", "3 days", "5 minutes".
std::string words_for_span(Duration span);
// A percentage with 2 significant digits at most, without trailing zeros: 2.1, 0.52, 14, 100.
std::string percent_text(double ratio);

}  // namespace tocsin::slo
