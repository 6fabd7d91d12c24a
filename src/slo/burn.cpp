// Window figures, budget, burn rates, the forecast, the multi-window multi-burn-rate decision, and words.

#include "tocsin/slo/burn.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tocsin::slo {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

WindowFigures figures(const Definition& d, const History& h, Timestamp now, Duration span) {
  WindowFigures f;
  f.span = span;
  f.name = window_name(span);
  f.totals = h.sum(now, span);
  f.error_ratio = f.totals.total > 0 ? std::clamp(f.totals.bad / f.totals.total, 0.0, 1.0) : kNaN;
  f.burn_rate = f.error_ratio / d.error_budget();
  return f;
}

std::string trim_number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

std::string plural(double n, const char* unit, int decimals) {
  const std::string text = trim_number(n, decimals);
  return text + " " + unit + (text == "1" ? "" : "s");
}

}  // namespace

Status evaluate(const Definition& d, const History& h, Timestamp now) {
  Status s;
  s.time = now;
  for (Duration span : kStandardWindows) s.windows.push_back(figures(d, h, now, span));
  s.windows.push_back(figures(d, h, now, d.window));
  const WindowFigures& period = s.period();
  s.budget_consumed = period.burn_rate;
  s.budget_remaining = 1 - period.burn_rate;
  const double covered = seconds(h.covered(now, d.window)) / seconds(d.window);
  s.window_budget_spent = period.burn_rate * covered;
  const double burn_1h = s.windows[2].burn_rate;
  const double left = 1 - s.window_budget_spent;
  if (std::isnan(left)) {
    s.exhaustion_seconds = kInf;
  } else if (left <= 0) {
    s.exhaustion_seconds = 0;
  } else if (std::isnan(burn_1h) || burn_1h <= 1) {
    s.exhaustion_seconds = kInf;  // at a burn of 1 or less the rolling window never runs out
  } else {
    s.exhaustion_seconds = left * seconds(d.window) / burn_1h;
  }
  return s;
}

double budget_share(const Definition& d, double burn, Duration span) {
  return burn * seconds(span) / seconds(d.window);
}

BurnDecision decide(const Definition& d, const BurnAlert& alert, const History& h, Timestamp now) {
  BurnDecision out;
  if (!alert.enabled) return out;
  const double budget = d.error_budget();
  const Totals period = h.sum(now, d.window);
  for (const BurnWindow& w : alert.windows) {
    const Totals lt = h.sum(now, w.long_window);
    const Totals st = h.sum(now, w.short_window);
    if (lt.total <= 0 || st.total <= 0) continue;  // no data is neither good nor bad
    const double long_burn = lt.bad / lt.total / budget;
    const double short_burn = st.bad / st.total / budget;
    const double spent = period.total > 0 ? lt.bad / (budget * period.total) : 0;
    const bool events_ok = d.indicator == Definition::Indicator::threshold || lt.total >= alert.min_events;
    const bool spent_ok = alert.min_budget_spent <= 0 || spent >= alert.min_budget_spent;
    if (long_burn > w.factor && short_burn > w.factor && events_ok && spent_ok) {
      out = {true, &w, long_burn, short_burn, lt.total, spent, h.covered(now, w.long_window)};
      return out;
    }
  }
  return out;
}

bool exhausted(const Status& s) { return !std::isnan(s.window_budget_spent) && s.window_budget_spent >= 1; }

std::string percent_text(double ratio) {
  const double v = ratio * 100;
  if (std::isnan(v)) return "no data";
  const double a = std::fabs(v);
  if (a >= 10) return trim_number(std::round(v), 0);
  if (a >= 1) return trim_number(v, 1);
  if (a == 0) return "0";
  const int decimals = std::min(6, 1 - static_cast<int>(std::floor(std::log10(a))));
  return trim_number(v, decimals);
}

std::string words_for_seconds(double s) {
  if (std::isinf(s)) return "never";
  if (s < 90) return plural(std::round(s), "second", 0);
  if (s < 90 * 60) return plural(std::round(s / 60), "minute", 0);
  if (s < 36 * 3600) return plural(std::round(s / 3600), "hour", 0);
  const double days = s / 86400;
  return days < 10 ? plural(std::round(days * 10) / 10, "day", 1) : plural(std::round(days), "day", 0);
}

std::string words_for_span(Duration span) {
  const auto ms = span.count();
  if (ms % 60000 != 0 && ms > 60000) return words_for_seconds(static_cast<double>(ms) / 1000);
  if (ms % 86400000 == 0) return ms == 86400000 ? "day" : std::to_string(ms / 86400000) + " days";
  if (ms % 3600000 == 0) return ms == 3600000 ? "hour" : std::to_string(ms / 3600000) + " hours";
  if (ms % 60000 == 0) return ms == 60000 ? "minute" : std::to_string(ms / 60000) + " minutes";
  return format_duration(span);
}

namespace {
std::string window_adjective(Duration window) {
  const auto ms = window.count();
  if (ms % 86400000 == 0) return std::to_string(ms / 86400000) + "-day";
  return format_duration(window);
}
}  // namespace

std::string describe_burn(const Definition& d, const BurnDecision& decision, const Status& s) {
  if (!decision.holds || decision.pair == nullptr) return "";
  const Duration span = decision.covered > Duration(0) ? decision.covered : decision.pair->long_window;
  const double spent = budget_share(d, decision.long_burn, span);
  std::string text = percent_text(spent) + " % of the " + window_adjective(d.window) +
                     " budget spent in the last " + words_for_span(span) + "; ";
  const double remaining = 1 - s.window_budget_spent;
  if (std::isnan(remaining) || remaining <= 0) return text + "the budget is already gone";
  if (decision.long_burn <= 1)
    return text + "at this rate it lasts the " + window_adjective(d.window) + " window";
  const double left = remaining * seconds(d.window) / decision.long_burn;
  return text + "at this rate it is gone in " + words_for_seconds(left);
}

std::string describe_exhausted(const Definition& d, const Status& s) {
  return "the " + window_adjective(d.window) + " budget is spent: the errors so far are " +
         percent_text(s.window_budget_spent) + " % of what the window allows";
}

}  // namespace tocsin::slo
