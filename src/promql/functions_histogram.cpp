// histogram_quantile() over classic histograms: the buckets of one histogram are the elements that
// share their labels apart from the metric name and `le`.

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "promql/functions_common.hpp"

namespace tocsin::promql::detail {

namespace {

struct Bucket {
  double upper;
  double count;
};

// Prometheus's BucketQuantile.
double bucket_quantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return std::nan("");
  if (q < 0) return -std::numeric_limits<double>::infinity();
  if (q > 1) return std::numeric_limits<double>::infinity();
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (buckets.empty() || !(std::isinf(buckets.back().upper) && buckets.back().upper > 0)) return std::nan("");
  // Coalesce buckets with the same upper bound.
  std::size_t w = 0;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].upper == buckets[w].upper) {
      buckets[w].count += buckets[i].count;
    } else {
      buckets[++w] = buckets[i];
    }
  }
  buckets.resize(w + 1);
  // Ensure monotonicity, ignoring tiny floating-point differences (tolerance 1e-12).
  auto almost_equal = [](double a, double b) {
    constexpr double kEpsilon = 1e-12;
    constexpr double kMinNormal = 2.2250738585072014e-308;
    if (a == b) return true;
    const double abs_sum = std::fabs(a) + std::fabs(b);
    const double diff = std::fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEpsilon * kMinNormal;
    return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEpsilon;
  };
  double prev = buckets[0].count;
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    const double curr = buckets[i].count;
    if (curr == prev) continue;
    if (almost_equal(prev, curr) || curr < prev) {
      buckets[i].count = prev;
      continue;
    }
    prev = curr;
  }
  if (buckets.size() < 2) return std::nan("");
  const double observations = buckets.back().count;
  if (observations == 0) return std::nan("");
  double rank = q * observations;
  std::size_t b = 0;
  while (b < buckets.size() - 1 && buckets[b].count < rank) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper;
  if (b == 0 && buckets[0].upper <= 0) return buckets[0].upper;
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

EvalValue histogram_quantile(Evaluator&, const Call&, Args args, Timestamp t) {
  const double q = scalar_arg(args[0]);
  const Vector& in = vector_arg(args[1]);
  struct Group {
    Labels labels;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  std::unordered_map<std::uint64_t, std::size_t> index;
  static const std::vector<std::string> kDropped = {std::string(kMetricNameLabel), "le"};
  for (const Sample& s : in) {
    const std::string_view le = s.labels.get("le");
    if (le.empty()) continue;
    char* end = nullptr;
    const std::string le_text(le);
    double upper = std::strtod(le_text.c_str(), &end);
    if (le_text == "+Inf" || le_text == "Inf" || le_text == "inf" || le_text == "+inf") {
      upper = std::numeric_limits<double>::infinity();
    } else if (end != le_text.c_str() + le_text.size()) {
      continue;  // an `le` that is not a number: Prometheus skips the sample
    }
    auto [it, fresh] = index.emplace(s.labels.hash_for(kDropped, false), groups.size());
    if (fresh) {
      LabelsBuilder b(s.labels);
      b.del(kMetricNameLabel);
      b.del("le");
      groups.push_back({b.build(), {}});
    }
    groups[it->second].buckets.push_back({upper, s.v});
  }
  Vector out;
  for (Group& g : groups) out.push_back({std::move(g.labels), bucket_quantile(q, g.buckets), t});
  return out;
}

}  // namespace

std::vector<Function> histogram_functions() {
  return {
      {"histogram_quantile", {S, V}, 0, V, histogram_quantile},
  };
}

}  // namespace tocsin::promql::detail
