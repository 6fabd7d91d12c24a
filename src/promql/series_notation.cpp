#include "tocsin/promql/series_notation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "tocsin/promql/parser.hpp"

namespace tocsin::promql {

namespace {

std::optional<double> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view body = s;
  bool negative = false;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "Inf" || body == "inf")
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  if (body == "NaN" || body == "nan") return std::numeric_limits<double>::quiet_NaN();
  double v = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || end != body.data() + body.size()) return std::nullopt;
  return negative ? -v : v;
}

std::optional<std::uint64_t> count(std::string_view s) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return n;
}

// Calls `fn` with each whitespace-separated item of a series' values.
template <typename Fn>
void for_each_item(std::string_view text, Fn&& fn) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    std::size_t end = i;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    fn(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace

std::uint64_t count_series_values(std::string_view text) {
  constexpr std::uint64_t most = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t total = 0;
  for_each_item(text, [&](std::string_view item) {
    std::uint64_t n = 1;
    if (const std::size_t x = item.rfind('x'); x != std::string_view::npos) {
      if (auto times = count(item.substr(x + 1))) {
        // "_xN" is N values; "a+bxN" is the start and N more.
        n = item.substr(0, x) == "_" ? *times : (*times == most ? most : *times + 1);
      }
    }
    total = n > most - total ? most : total + n;
  });
  return total;
}

std::vector<SeriesValue> expand_series_values(std::string_view text, std::uint64_t max_values) {
  if (const std::uint64_t n = count_series_values(text); n > max_values) {
    throw std::invalid_argument("series expands to " + std::to_string(n) + " points, at most " +
                                std::to_string(max_values));
  }
  std::vector<SeriesValue> out;
  for_each_item(text, [&](std::string_view item) {
    auto bad = [&](const std::string& why) {
      return std::invalid_argument("invalid series value \"" + std::string(item) + "\": " + why);
    };
    if (item == "stale") {
      out.push_back({SeriesValue::Kind::stale, 0});
      return;
    }
    if (item == "_") {
      out.push_back({SeriesValue::Kind::missing, 0});
      return;
    }
    const std::size_t x = item.rfind('x');
    if (x == std::string_view::npos) {
      auto v = number(item);
      if (!v) throw bad("not a number");
      out.push_back({SeriesValue::Kind::value, *v});
      return;
    }
    auto n = count(item.substr(x + 1));
    if (!n) throw bad("expected a count after \"x\"");
    const std::string_view head = item.substr(0, x);
    if (head == "_") {
      for (std::uint64_t k = 0; k < *n; ++k) out.push_back({SeriesValue::Kind::missing, 0});
      return;
    }
    // "a+b" / "a-b": the split is at the last sign that does not start the item or follow an "e".
    std::size_t sign = std::string_view::npos;
    for (std::size_t k = 1; k < head.size(); ++k) {
      if ((head[k] == '+' || head[k] == '-') && head[k - 1] != 'e' && head[k - 1] != 'E') sign = k;
    }
    double start = 0, step = 0;
    if (sign == std::string_view::npos) {
      auto v = number(head);
      if (!v) throw bad("not a number");
      start = *v;
    } else {
      auto a = number(head.substr(0, sign));
      auto b = number(head.substr(sign));
      if (!a || !b) throw bad("expected a+bxn or a-bxn");
      start = *a;
      step = *b;
    }
    // Accumulated, not start + k*step: promtool adds the step n times, and the rounding of repeated
    // addition (0+0.1x30 reaches 3.0000000000000013) is what test files written against it expect.
    double v = start;
    for (std::uint64_t k = 0; k <= *n; ++k) {
      out.push_back({SeriesValue::Kind::value, v});
      v += step;
    }
  });
  return out;
}

Labels parse_series_labels(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  if (compact.empty() || compact == "{}") return Labels{};  // e.g. the result of sum() or vector()
  ExprPtr e;
  try {
    e = parse(text);
  } catch (const ParseError& error) {
    throw std::invalid_argument("invalid series \"" + std::string(text) + "\": " + error.what());
  }
  const auto* vs = std::get_if<VectorSelector>(&e->node);
  if (vs == nullptr || vs->offset != Duration(0) || vs->at) {
    throw std::invalid_argument("invalid series \"" + std::string(text) +
                                "\": expected name{label=\"value\", ...}");
  }
  LabelsBuilder b;
  for (const auto& m : vs->matchers) {
    if (m.type() != MatchType::equal) {
      throw std::invalid_argument("invalid series \"" + std::string(text) +
                                  "\": only = is allowed in a series");
    }
    b.set(m.name(), m.value());
  }
  return b.build();
}

void MemoryQuerier::add(const Labels& labels, Point point) {
  std::lock_guard lock(mutex_);
  auto [it, created] = index_.try_emplace(labels, series_.size());
  if (created) {
    series_.push_back({labels, {point}});
    by_name_[std::string(labels.metric_name())].push_back(it->second);
    return;
  }
  Entry& e = series_[it->second];
  if (e.points.empty() || e.points.back().t < point.t) e.points.push_back(point);
}

void MemoryQuerier::add_series(const Labels& labels, const std::vector<SeriesValue>& values, Timestamp t0,
                               Duration interval) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Timestamp t = t0 + static_cast<Timestamp>(i) * interval.count();
    switch (values[i].kind) {
      case SeriesValue::Kind::value: add(labels, {t, values[i].v}); break;
      case SeriesValue::Kind::stale: add(labels, {t, stale_nan()}); break;
      case SeriesValue::Kind::missing: break;
    }
  }
}

store::SeriesSet MemoryQuerier::select(std::span<const store::Matcher> matchers, Timestamp mint,
                                       Timestamp maxt) const {
  std::lock_guard lock(mutex_);
  store::SeriesSet out;
  if (matchers.empty()) return out;
  auto emit = [&](const Entry& e) {
    for (const auto& m : matchers) {
      if (!m.matches(e.labels.get(m.name()))) return;
    }
    // The points are in time order: from the first at or after mint.
    auto p = std::lower_bound(e.points.begin(), e.points.end(), mint,
                              [](const Point& point, Timestamp t) { return point.t < t; });
    if (p == e.points.end() || p->t > maxt) return;
    out.begin_series(e.labels);
    for (; p != e.points.end() && p->t <= maxt; ++p) out.add_point(*p);
  };
  for (const auto& m : matchers) {
    if (m.type() == MatchType::equal && m.name() == kMetricNameLabel && !m.value().empty()) {
      auto it = by_name_.find(std::string_view(m.value()));
      if (it != by_name_.end()) {
        for (std::size_t i : it->second) emit(series_[i]);
      }
      return out;
    }
  }
  for (const Entry& e : series_) emit(e);
  return out;
}

}  // namespace tocsin::promql
