// The query loop, selectors, operators and aggregations. The function library is in functions_<family>.cpp.
// Where Prometheus's code fixes an order of floating-point operations (Kahan sums, incremental
// means), the same order is used here, so results agree to the last bit.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <unordered_set>

#include "promql/evaluator.hpp"
#include "promql/go_math.hpp"

namespace tocsin::promql {

std::optional<Compat> parse_compat(std::string_view text) {
  if (text == "prometheus3") return Compat::prometheus3;
  if (text == "prometheus2") return Compat::prometheus2;
  return std::nullopt;
}

ValueType type_of(const Value& value) {
  switch (value.index()) {
    case 0: return ValueType::scalar;
    case 1: return ValueType::vector;
    case 2: return ValueType::matrix;
    default: return ValueType::string;
  }
}

namespace {

// Go's strconv.FormatFloat(v, 'e' or 'f', -1, 64): the shortest digits that read back as v. For 'f'
// they are laid out by hand: std::to_chars's fixed form prints a large value's exact digits
// (999999999999999868928 where Go writes 999999999999999900000).
std::string format_float(double v, std::chars_format format) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, end);
  if (format == std::chars_format::scientific) return sci;
  const std::size_t e = sci.find('e');
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (std::size_t i = 0; i < e; ++i) {
    if (sci[i] >= '0' && sci[i] <= '9') digits += sci[i];
  }
  std::string out = v < 0 || std::signbit(v) ? "-" : "";
  if (exponent < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
    return out;
  }
  const auto integer = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= integer) {
    out += digits;
    out.append(integer - digits.size(), '0');
  } else {
    out += digits.substr(0, integer);
    out += '.';
    out += digits.substr(integer);
  }
  return out;
}

}  // namespace

std::string format_value(double v) {
  const double abs = std::fabs(v);
  const bool exponent = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  return format_float(v, exponent ? std::chars_format::scientific : std::chars_format::fixed);
}

namespace detail {

namespace {

std::vector<std::string> with_name(std::vector<std::string> names) {
  names.emplace_back(kMetricNameLabel);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

// (value, keep) of `l op r` for one pair of elements, as Prometheus's vectorElemBinop.
std::pair<double, bool> apply(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::add: return {l + r, true};
    case BinaryOp::sub: return {l - r, true};
    case BinaryOp::mul: return {l * r, true};
    case BinaryOp::div: return {l / r, true};
    case BinaryOp::pow: return {go_math::pow(l, r), true};  // Go's math.Pow, bit for bit
    case BinaryOp::mod: return {std::fmod(l, r), true};
    case BinaryOp::atan2: return {go_math::atan2(l, r), true};
    case BinaryOp::eql: return {l, l == r};
    case BinaryOp::neq: return {l, l != r};
    case BinaryOp::gtr: return {l, l > r};
    case BinaryOp::lss: return {l, l < r};
    case BinaryOp::gte: return {l, l >= r};
    case BinaryOp::lte: return {l, l <= r};
    default:
      execution_error("operator \"" + std::string(to_string(op)) + "\" not allowed for scalar operations");
  }
}

// Arithmetic drops the metric name; atan2 too since Prometheus 3.0 (2.x kept it).
bool drops_name(BinaryOp op, Compat compat) {
  if (op == BinaryOp::atan2) return compat == Compat::prometheus3;
  return op == BinaryOp::add || op == BinaryOp::sub || op == BinaryOp::mul || op == BinaryOp::div ||
         op == BinaryOp::mod || op == BinaryOp::pow;
}

}  // namespace

Labels drop_name(const Labels& labels) {
  if (!labels.has(kMetricNameLabel)) return labels;
  Labels::Writer out(labels.size() - 1);
  for (const Label& l : labels) {
    if (l.name != kMetricNameLabel) out.add(l);
  }
  return out.finish();
}

void check_unique_labels(const Vector& v) {
  if (v.size() < 2) return;
  // Runs after every function and operator at every step: sorted hashes in a reused buffer, so the
  // check allocates nothing once the buffer has grown (a hash map would allocate per element).
  thread_local std::vector<std::pair<std::uint64_t, std::size_t>> hashes;
  hashes.clear();
  hashes.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) hashes.emplace_back(v[i].labels.hash(), i);
  std::sort(hashes.begin(), hashes.end());
  for (std::size_t run = 0; run < hashes.size();) {
    std::size_t end = run + 1;
    while (end < hashes.size() && hashes[end].first == hashes[run].first) ++end;
    for (std::size_t i = run; i < end; ++i) {
      for (std::size_t j = i + 1; j < end; ++j) {
        if (v[hashes[i].second].labels == v[hashes[j].second].labels) {
          execution_error("vector cannot contain metrics with the same labelset");
        }
      }
    }
    run = end;
  }
}

double quantile(double q, std::vector<double>& values) {
  if (values.empty() || std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  // Go's sort.Float64s order: NaN first.
  std::sort(values.begin(), values.end(),
            [](double a, double b) { return a < b || (std::isnan(a) && !std::isnan(b)); });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<std::size_t>(lower)] * (1 - weight) +
         values[static_cast<std::size_t>(upper)] * weight;
}

Evaluator::Evaluator(const store::Querier& querier, const EngineOptions& options, Timestamp start,
                     Timestamp end, Duration step)
    : querier_(querier),
      options_(options),
      start_(start),
      end_(end),
      step_(step),
      deadline_(std::chrono::steady_clock::now() + options.timeout) {}

void Evaluator::count_samples(std::size_t n, const char* where) {
  samples_loaded_ += n;
  if (samples_loaded_ > options_.max_samples) {
    throw QueryError(QueryError::Kind::too_many_samples,
                     std::string("query processing would load too many samples into memory in ") + where);
  }
}

void Evaluator::check_deadline() const {
  if (options_.cancelled != nullptr && options_.cancelled->load(std::memory_order_relaxed)) {
    throw QueryError(QueryError::Kind::cancelled, "query was canceled in expression evaluation");
  }
  if (std::chrono::steady_clock::now() > deadline_) {
    throw QueryError(QueryError::Kind::timeout, "query timed out in expression evaluation");
  }
}

Timestamp Evaluator::resolve_at(const std::optional<AtModifier>& at, Timestamp t) const {
  if (!at) return t;
  switch (at->kind) {
    case AtModifier::Kind::start: return start_;
    case AtModifier::Kind::end: return end_;
    case AtModifier::Kind::timestamp: return at->t;
  }
  return t;
}

void Evaluator::prefetch(const Expr& expr) {
  struct Window {
    Timestamp mint, maxt;
  };
  std::unordered_map<const VectorSelector*, Window> windows;
  auto want = [&](const VectorSelector* vs, Timestamp mint, Timestamp maxt) {
    auto [it, inserted] = windows.emplace(vs, Window{mint, maxt});
    if (!inserted) {
      it->second.mint = std::min(it->second.mint, mint);
      it->second.maxt = std::max(it->second.maxt, maxt);
    }
  };
  const Timestamp lookback = options_.lookback_delta.count();
  std::function<void(const Expr&, Timestamp, Timestamp)> walk = [&](const Expr& e, Timestamp s,
                                                                    Timestamp en) {
    std::visit(
        [&](const auto& n) {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, VectorSelector>) {
            Timestamp a = n.at ? resolve_at(n.at, s) : s, b = n.at ? resolve_at(n.at, en) : en;
            want(&n, a - n.offset.count() - lookback, b - n.offset.count());
          } else if constexpr (std::is_same_v<T, MatrixSelector>) {
            const auto& vs = n.selector;
            Timestamp a = vs.at ? resolve_at(vs.at, s) : s, b = vs.at ? resolve_at(vs.at, en) : en;
            want(&vs, a - vs.offset.count() - n.range.count(), b - vs.offset.count());
          } else if constexpr (std::is_same_v<T, Subquery>) {
            Timestamp a = n.at ? resolve_at(n.at, s) : s, b = n.at ? resolve_at(n.at, en) : en;
            walk(*n.expr, a - n.offset.count() - n.range.count(), b - n.offset.count());
          } else if constexpr (std::is_same_v<T, Paren>) {
            walk(*n.expr, s, en);
          } else if constexpr (std::is_same_v<T, Unary>) {
            walk(*n.expr, s, en);
          } else if constexpr (std::is_same_v<T, Binary>) {
            walk(*n.lhs, s, en);
            walk(*n.rhs, s, en);
          } else if constexpr (std::is_same_v<T, Aggregate>) {
            if (n.param) walk(*n.param, s, en);
            walk(*n.expr, s, en);
          } else if constexpr (std::is_same_v<T, Call>) {
            for (const auto& arg : n.args) walk(*arg, s, en);
          }
        },
        e.node);
  };
  walk(expr, start_, end_);
  for (const auto& [vs, w] : windows) {
    store::SeriesSet set = querier_.select(vs->matchers, w.mint, w.maxt);
    count_samples(set.total_points(), "query execution");
    selections_.emplace(vs, std::move(set));
  }
  check_deadline();
}

Vector Evaluator::eval_selector(const VectorSelector& vs, Timestamp t) {
  const store::SeriesSet& set = selections_.at(&vs);
  const Timestamp ref = resolve_at(vs.at, t) - vs.offset.count();
  const Timestamp oldest = ref - options_.lookback_delta.count();
  Vector out;
  out.reserve(set.size());
  // Series are evaluated in the order the querier returns them (Prometheus: its TSDB's postings
  // order, i.e. creation order); aggregations add up in that order.
  for (std::size_t i = 0; i < set.size(); ++i) {
    const auto points = set.points(i);
    auto it = std::upper_bound(points.begin(), points.end(), ref,
                               [](Timestamp v, const Point& p) { return v < p.t; });
    if (it == points.begin()) continue;
    const Point& p = *(it - 1);
    if (left_open() ? p.t <= oldest : p.t < oldest) continue;
    if (is_stale_nan(p.v)) continue;
    out.push_back({set.labels(i), p.v, p.t});
  }
  return out;
}

MatrixView Evaluator::eval_matrix(const MatrixSelector& ms, Timestamp t) {
  const store::SeriesSet& set = selections_.at(&ms.selector);
  MatrixView out;
  out.range = ms.range;
  out.offset = ms.selector.offset;
  out.at = resolve_at(ms.selector.at, t);
  const Timestamp hi = out.at - out.offset.count();
  const Timestamp lo = hi - ms.range.count();
  out.series.reserve(set.size());
  std::shared_ptr<std::vector<Point>> owned;
  std::vector<std::pair<std::size_t, std::pair<std::size_t, std::size_t>>>
      copied;  // series, [begin, end) in owned
  for (std::size_t i = 0; i < set.size(); ++i) {
    const auto points = set.points(i);
    auto begin = left_open() ? std::upper_bound(points.begin(), points.end(), lo,
                                                [](Timestamp v, const Point& p) { return v < p.t; })
                             : std::lower_bound(points.begin(), points.end(), lo,
                                                [](const Point& p, Timestamp v) { return p.t < v; });
    auto end = std::upper_bound(begin, points.end(), hi, [](Timestamp v, const Point& p) { return v < p.t; });
    if (begin == end) continue;
    bool stale = false;
    for (auto it = begin; it != end && !stale; ++it) stale = is_stale_nan(it->v);
    if (!stale) {
      out.series.push_back(
          {&set.labels(i), std::span<const Point>(&*begin, static_cast<std::size_t>(end - begin))});
      continue;
    }
    // Staleness markers are not samples: copy the others (rare: only around a series' end).
    if (!owned) owned = std::make_shared<std::vector<Point>>();
    const std::size_t from = owned->size();
    for (auto it = begin; it != end; ++it) {
      if (!is_stale_nan(it->v)) owned->push_back(*it);
    }
    if (owned->size() == from) continue;
    copied.push_back({out.series.size(), {from, owned->size()}});
    out.series.push_back({&set.labels(i), {}});
  }
  if (owned) {
    for (const auto& [index, range] : copied) {
      out.series[index].points =
          std::span<const Point>(owned->data() + range.first, range.second - range.first);
    }
    out.storage.push_back(owned);
  }
  return out;
}

MatrixView Evaluator::eval_subquery(const Subquery& sq, Timestamp t) {
  const Timestamp ref = resolve_at(sq.at, t) - sq.offset.count();
  const Timestamp step = (sq.step > Duration(0) ? sq.step : options_.default_subquery_step).count();
  const Timestamp lo = ref - sq.range.count();
  Timestamp first = step * (lo / step);
  if (left_open() ? first <= lo : first < lo) first += step;

  struct Owned {
    std::vector<Labels> labels;
    std::vector<std::vector<Point>> points;
  };
  auto owned = std::make_shared<Owned>();
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> index;
  for (Timestamp ts = first; ts <= ref; ts += step) {
    check_deadline();
    EvalValue v = eval(*sq.expr, ts);
    Vector* vec = std::get_if<Vector>(&v);
    if (vec == nullptr) continue;
    for (Sample& s : *vec) {
      auto& slots = index[s.labels.hash()];
      std::size_t slot = SIZE_MAX;
      for (std::size_t candidate : slots) {
        if (owned->labels[candidate] == s.labels) slot = candidate;
      }
      if (slot == SIZE_MAX) {
        slot = owned->labels.size();
        slots.push_back(slot);
        owned->labels.push_back(std::move(s.labels));
        owned->points.emplace_back();
      }
      owned->points[slot].push_back({ts, s.v});
      // Subquery results count against the sample bound like loaded samples (x[100d:1ms] must fail, not
      // exhaust memory).
      count_samples(1, "subquery evaluation");
    }
  }
  MatrixView out;
  out.range = sq.range;
  out.offset = sq.offset;
  out.at = resolve_at(sq.at, t);
  for (std::size_t i = 0; i < owned->labels.size(); ++i) {
    out.series.push_back({&owned->labels[i], owned->points[i]});
  }
  out.storage.push_back(owned);
  return out;
}

EvalValue Evaluator::eval(const Expr& expr, Timestamp t) {
  // Where Prometheus checks a node's output at every step (rangeEval, unary minus, label_replace,
  // functions over range vectors), so sum(rate({__name__=~"f|g"}[5m])) fails as it does there
  // instead of adding both series up once the name is dropped.
  auto unique = [](EvalValue v) {
    if (const auto* vec = std::get_if<Vector>(&v)) check_unique_labels(*vec);
    return v;
  };
  return std::visit(
      [&](const auto& n) -> EvalValue {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, NumberLiteral>) {
          return Scalar{n.value, t};
        } else if constexpr (std::is_same_v<T, StringLiteral>) {
          return String{n.value, t};
        } else if constexpr (std::is_same_v<T, VectorSelector>) {
          return eval_selector(n, t);
        } else if constexpr (std::is_same_v<T, MatrixSelector>) {
          return eval_matrix(n, t);
        } else if constexpr (std::is_same_v<T, Subquery>) {
          return eval_subquery(n, t);
        } else if constexpr (std::is_same_v<T, Paren>) {
          return eval(*n.expr, t);
        } else if constexpr (std::is_same_v<T, Unary>) {
          EvalValue v = eval(*n.expr, t);
          if (auto* s = std::get_if<Scalar>(&v)) return Scalar{-s->v, t};
          Vector& vec = std::get<Vector>(v);
          for (Sample& s : vec) {
            s.v = -s.v;
            s.labels = drop_name(s.labels);
            s.t = t;
          }
          check_unique_labels(vec);
          return v;
        } else if constexpr (std::is_same_v<T, Binary>) {
          return unique(eval_binary(n, t));
        } else if constexpr (std::is_same_v<T, Aggregate>) {
          return eval_aggregate(n, t);  // one element per group, or topk's input elements
        } else {
          return unique(eval_call(n, t));
        }
      },
      expr.node);
}

EvalValue Evaluator::eval_binary(const Binary& b, Timestamp t) {
  EvalValue lv = eval(*b.lhs, t);
  EvalValue rv = eval(*b.rhs, t);
  const auto* ls = std::get_if<Scalar>(&lv);
  const auto* rs = std::get_if<Scalar>(&rv);
  if (ls && rs) {
    auto [v, keep] = apply(b.op, ls->v, rs->v);
    if (is_comparison(b.op)) v = keep ? 1 : 0;  // only with bool (the parser requires it)
    return Scalar{v, t};
  }
  if (ls || rs) {
    // Vector and scalar: the scalar applies to every element; comparisons filter, keeping the
    // vector's value even when the scalar is on the left.
    const bool swap = ls != nullptr;
    Vector vec = std::move(std::get<Vector>(swap ? rv : lv));
    const double scalar = swap ? ls->v : rs->v;
    const bool drop = drops_name(b.op, options_.compat) || b.return_bool;
    Vector out;
    out.reserve(vec.size());
    for (Sample& s : vec) {
      double l = s.v, r = scalar;
      if (swap) std::swap(l, r);
      auto [v, keep] = apply(b.op, l, r);
      if (is_comparison(b.op) && swap) v = r;
      if (b.return_bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      out.push_back({drop ? drop_name(s.labels) : std::move(s.labels), v, t});
    }
    return out;
  }

  Vector lhs = std::move(std::get<Vector>(lv));
  Vector rhs = std::move(std::get<Vector>(rv));
  const VectorMatching& m = *b.matching;
  const std::vector<std::string> sig_names = m.on ? m.labels : with_name(m.labels);
  auto signature = [&](const Labels& l) { return l.hash_for(sig_names, m.on); };

  if (m.card == Cardinality::many_to_many) {
    Vector out;
    switch (b.op) {
      case BinaryOp::land: {
        if (lhs.empty() || rhs.empty()) return out;
        std::unordered_set<std::uint64_t> right;
        for (const Sample& s : rhs) right.insert(signature(s.labels));
        for (Sample& s : lhs) {
          if (right.count(signature(s.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      case BinaryOp::lor: {
        std::unordered_set<std::uint64_t> left;
        for (Sample& s : lhs) {
          left.insert(signature(s.labels));
          out.push_back(std::move(s));
        }
        for (Sample& s : rhs) {
          if (!left.count(signature(s.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      case BinaryOp::lunless: {
        std::unordered_set<std::uint64_t> right;
        for (const Sample& s : rhs) right.insert(signature(s.labels));
        for (Sample& s : lhs) {
          if (!right.count(signature(s.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      default: execution_error("set operator with many-to-many matching");
    }
  }

  if (lhs.empty() || rhs.empty()) return Vector{};
  const bool one_to_many = m.card == Cardinality::one_to_many;
  if (one_to_many) std::swap(lhs, rhs);

  std::unordered_map<std::uint64_t, std::size_t> right;
  right.reserve(rhs.size());
  for (std::size_t i = 0; i < rhs.size(); ++i) {
    auto [it, inserted] = right.emplace(signature(rhs[i].labels), i);
    if (!inserted) {
      LabelsBuilder matched(rhs[i].labels);
      if (m.on) {
        matched.keep_only(m.labels);
      } else {
        for (const auto& l : with_name(m.labels)) matched.del(l);
      }
      execution_error("found duplicate series for the match group " + matched.build().to_string() +
                      " on the " + (one_to_many ? "left" : "right") + " hand-side of the operation: [" +
                      rhs[i].labels.to_string() + ", " + rhs[it->second].labels.to_string() +
                      "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
  }

  std::unordered_map<std::uint64_t, std::unordered_set<std::uint64_t>> matched;
  Vector out;
  out.reserve(lhs.size());
  for (Sample& l : lhs) {
    const std::uint64_t sig = signature(l.labels);
    auto found = right.find(sig);
    if (found == right.end()) continue;
    const Sample& r = rhs[found->second];
    double fl = l.v, fr = r.v;
    if (one_to_many) std::swap(fl, fr);
    auto [v, keep] = apply(b.op, fl, fr);
    if (b.return_bool) {
      v = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    LabelsBuilder metric(l.labels);
    if (drops_name(b.op, options_.compat) || b.return_bool) metric.del(kMetricNameLabel);
    if (m.card == Cardinality::one_to_one) {
      if (m.on) {
        metric.keep_only(m.labels);
      } else {
        for (const auto& name : m.labels) metric.del(name);
      }
    } else {
      for (const auto& name : m.include) {
        const std::string_view value = r.labels.get(name);
        if (!value.empty()) {
          metric.set(name, value);
        } else {
          metric.del(name);
        }
      }
    }
    Labels result = metric.build();
    auto [slot, first] = matched.try_emplace(sig);
    if (m.card == Cardinality::one_to_one) {
      if (!first) {
        execution_error(
            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
      }
    } else if (!slot->second.insert(result.hash()).second) {
      execution_error("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back({std::move(result), v, t});
  }
  return out;
}

EvalValue Evaluator::eval_call(const Call& call, Timestamp t) {
  const std::size_t held = samples_loaded_;
  bool reads_subquery = false;
  std::vector<EvalValue> args;
  args.reserve(call.args.size());
  for (const auto& a : call.args) {
    reads_subquery = reads_subquery || std::holds_alternative<Subquery>(a->node);
    args.push_back(eval(*a, t));
  }
  EvalValue out = call.function->eval(*this, call, args, t);
  // A subquery's points are freed once its function has read them, and Prometheus takes them off
  // currentSamples then too: max_samples bounds what a query holds at once, not all it ever computed
  // (nested subqueries would otherwise fail however small each is).
  if (reads_subquery) samples_loaded_ = held;
  return out;
}

Vector Evaluator::eval_aggregate(const Aggregate& a, Timestamp t) {
  check_deadline();
  double param = 0;
  std::string label_param;
  if (a.param) {
    EvalValue p = eval(*a.param, t);
    if (auto* s = std::get_if<Scalar>(&p)) param = s->v;
    if (auto* s = std::get_if<String>(&p)) label_param = s->value;
  }
  Vector input = std::get<Vector>(eval(*a.expr, t));
  if (a.op == AggregateOp::count_values && !is_valid_label_name(label_param)) {
    execution_error("invalid label name \"" + label_param + "\"");
  }
  const std::vector<std::string> names = a.without ? with_name(a.grouping) : a.grouping;
  auto group_labels = [&](const Labels& l) {
    LabelsBuilder b(l);
    if (a.without) {
      for (const auto& n : names) b.del(n);
    } else {
      b.keep_only(names);
    }
    return b.build();
  };

  struct Group {
    Labels labels;
    double value = 0;  // sum, min, max, direct mean sum, stdvar aux
    double kahan = 0;
    double mean = 0;
    double count = 0;
    bool incremental = false;
    std::vector<std::size_t> members;  // topk, bottomk, quantile
  };
  // Groups are keyed by the hash of their labels, as in Prometheus (collisions of 64-bit hashes are
  // not guarded against there either); the group's labels are built once, for its first member.
  std::vector<Group> groups;
  std::unordered_map<std::uint64_t, std::size_t> index;

  if (a.op == AggregateOp::count_values) {
    std::map<Labels, double> counts;
    for (const Sample& s : input) {
      LabelsBuilder b(group_labels(s.labels));
      b.set(label_param, format_float(s.v, std::chars_format::fixed));  // FormatFloat(f, 'f', -1, 64)
      counts[b.build()] += 1;
    }
    Vector out;
    for (auto& [labels, count] : counts) out.push_back({labels, count, t});
    return out;
  }

  for (std::size_t i = 0; i < input.size(); ++i) {
    const Sample& s = input[i];
    auto [it, fresh] = index.emplace(s.labels.hash_for(names, !a.without), groups.size());
    if (fresh) {
      groups.emplace_back();
      groups.back().labels = group_labels(s.labels);
    }
    Group* g = &groups[it->second];
    const double f = s.v;
    if (fresh) {
      g->count = 1;
      switch (a.op) {
        case AggregateOp::stddev:
        case AggregateOp::stdvar:
          g->mean = f;
          g->value = 0;
          break;
        case AggregateOp::group: g->value = 1; break;
        default: g->value = f;
      }
      g->members.push_back(i);
      continue;
    }
    g->count += 1;
    switch (a.op) {
      case AggregateOp::sum: kahan_add(f, g->value, g->kahan); break;
      case AggregateOp::avg: {
        if (!g->incremental) {
          double sum = g->value, c = g->kahan;
          kahan_add(f, sum, c);
          if (!std::isinf(sum)) {
            g->value = sum;
            g->kahan = c;
            break;
          }
          g->incremental = true;
          g->mean = g->value / (g->count - 1);
          g->kahan /= g->count - 1;
        }
        const double q = (g->count - 1) / g->count;
        double mean = q * g->mean, c = q * g->kahan;
        kahan_add(f / g->count, mean, c);
        g->mean = mean;
        g->kahan = c;
        break;
      }
      case AggregateOp::max:
        if (g->value < f || std::isnan(g->value)) g->value = f;
        break;
      case AggregateOp::min:
        if (g->value > f || std::isnan(g->value)) g->value = f;
        break;
      case AggregateOp::stddev:
      case AggregateOp::stdvar: {
        const double delta = f - g->mean;
        g->mean += delta / g->count;
        g->value += delta * (f - g->mean);
        break;
      }
      case AggregateOp::topk:
      case AggregateOp::bottomk:
      case AggregateOp::quantile: g->members.push_back(i); break;
      default: break;
    }
  }

  Vector out;
  if (a.op == AggregateOp::topk || a.op == AggregateOp::bottomk) {
    if (std::isnan(param) || param < 1) return out;
    const auto k = static_cast<std::size_t>(std::min(param, 1e18));
    const bool top = a.op == AggregateOp::topk;
    for (Group& g : groups) {
      auto better = [&](std::size_t x, std::size_t y) {
        const double vx = input[x].v, vy = input[y].v;
        if (std::isnan(vy)) return !std::isnan(vx);
        if (std::isnan(vx)) return false;
        return top ? vx > vy : vx < vy;
      };
      std::stable_sort(g.members.begin(), g.members.end(), better);
      if (g.members.size() > k) g.members.resize(k);
      for (std::size_t i : g.members) out.push_back({input[i].labels, input[i].v, t});
    }
    return out;
  }
  out.reserve(groups.size());
  for (Group& g : groups) {
    double v = 0;
    switch (a.op) {
      case AggregateOp::sum: v = g.value + g.kahan; break;
      case AggregateOp::avg:
        v = g.incremental ? g.mean + g.kahan : g.value / g.count + g.kahan / g.count;
        break;
      case AggregateOp::count: v = g.count; break;
      case AggregateOp::stddev: v = std::sqrt(g.value / g.count); break;
      case AggregateOp::stdvar: v = g.value / g.count; break;
      case AggregateOp::quantile: {
        std::vector<double>& values = scratch_;
        values.clear();
        for (std::size_t i : g.members) values.push_back(input[i].v);
        v = quantile(param, values);
        break;
      }
      default: v = g.value;
    }
    out.push_back({std::move(g.labels), v, t});
  }
  return out;
}

}  // namespace detail

namespace {

Value to_value(detail::EvalValue v) {
  return std::visit(
      [](auto& n) -> Value {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, detail::MatrixView>) {
          Matrix out;
          out.reserve(n.series.size());
          for (const auto& e : n.series)
            out.push_back({*e.labels, std::vector<Point>(e.points.begin(), e.points.end())});
          std::sort(out.begin(), out.end(),
                    [](const Series& a, const Series& b) { return a.labels < b.labels; });
          return out;
        } else {
          return std::move(n);
        }
      },
      v);
}

}  // namespace

Value Engine::instant(const store::Querier& querier, const Expr& expr, Timestamp t) const {
  detail::Evaluator ev(querier, options_, t, t, Duration(0));
  ev.prefetch(expr);
  detail::EvalValue v = ev.eval(expr, t);
  if (auto* vec = std::get_if<Vector>(&v)) {
    ev.count_samples(vec->size(), "query execution");
    detail::check_unique_labels(*vec);
    for (Sample& s : *vec) s.t = t;  // the API reports the evaluation time
  }
  return to_value(std::move(v));
}

Matrix Engine::range(const store::Querier& querier, const Expr& expr, Timestamp start, Timestamp end,
                     Duration step) const {
  if (expr.type != ValueType::scalar && expr.type != ValueType::vector) {
    detail::execution_error("invalid expression type \"" + std::string(to_string(expr.type)) +
                            "\" for range query, must be Scalar or instant Vector");
  }
  if (step <= Duration(0))
    detail::execution_error("zero or negative query resolution step widths are not accepted");
  if (end < start) detail::execution_error("end timestamp must not be before start time");
  // The steps are counted, not reached by adding `step` up to `end`: that sum overflows when end is
  // near the largest timestamp.
  Timestamp span = 0;
  if (__builtin_sub_overflow(end, start, &span)) detail::execution_error("query time range out of bounds");
  const Timestamp last_step = span / step.count();
  detail::Evaluator ev(querier, options_, start, end, step);
  ev.prefetch(expr);
  Matrix out;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> index;
  for (Timestamp i = 0; i <= last_step; ++i) {
    const Timestamp ts = start + i * step.count();
    ev.check_deadline();
    detail::EvalValue v = ev.eval(expr, ts);
    // Every step's output stays in memory until the reply is written: it counts against the bound
    // (a lookback repeats one loaded sample at every step).
    if (auto* s = std::get_if<Scalar>(&v)) {
      ev.count_samples(1, "query execution");
      if (out.empty()) out.push_back({Labels{}, {}});
      out[0].points.push_back({ts, s->v});
      continue;
    }
    Vector& vec = std::get<Vector>(v);
    ev.count_samples(vec.size(), "query execution");
    detail::check_unique_labels(vec);
    for (Sample& s : vec) {
      auto& slots = index[s.labels.hash()];
      std::size_t slot = SIZE_MAX;
      for (std::size_t c : slots) {
        if (out[c].labels == s.labels) slot = c;
      }
      if (slot == SIZE_MAX) {
        slot = out.size();
        slots.push_back(slot);
        out.push_back({std::move(s.labels), {}});
      }
      out[slot].points.push_back({ts, s.v});
    }
  }
  std::sort(out.begin(), out.end(), [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

}  // namespace tocsin::promql
