#include "tocsin/http/metrics_endpoint.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "tocsin/store/exposition.hpp"

namespace tocsin::http {

namespace {

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value) {
  prometheus::MetricFamily family{std::move(name), std::move(help), prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric metric;
  metric.gauge.value = value;
  family.metric.push_back(std::move(metric));
  return family;
}

}  // namespace

std::vector<prometheus::MetricFamily> StoreMetrics::Collect() const {
  const store::StoreStats stats = store_.stats();
  std::vector<prometheus::MetricFamily> out;
  out.push_back(gauge_family("tocsin_store_series", "Series held in the in-memory store.",
                             static_cast<double>(stats.series)));
  out.push_back(gauge_family("tocsin_store_points", "Points held in the in-memory store.",
                             static_cast<double>(stats.points)));
  out.push_back(gauge_family("tocsin_store_bytes",
                             "Memory held by the in-memory store (estimated from its containers).",
                             static_cast<double>(stats.bytes)));
  out.push_back(gauge_family("tocsin_store_retention_seconds", "How long the store keeps points.",
                             std::chrono::duration<double>(store_.retention()).count()));
  out.push_back(gauge_family("tocsin_store_series_limit",
                             "Series the store holds at most (max_series; 0: none).",
                             static_cast<double>(stats.max_series)));
  prometheus::MetricFamily refused;
  refused.name = "tocsin_store_series_refused_total";
  refused.help = "Samples of new series the store refused because it held max_series series.";
  refused.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric metric;
  metric.counter.value = static_cast<double>(stats.series_refused);
  refused.metric.push_back(std::move(metric));
  out.push_back(std::move(refused));
  return out;
}

std::string render_metrics(const store::Store& store,
                           const std::vector<std::shared_ptr<prometheus::Collectable>>& own) {
  std::string out;
  out.reserve(1 << 16);
  store::render_exposition(store, out);
  std::vector<prometheus::MetricFamily> families;
  for (const auto& collectable : own) {
    auto more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::ostringstream ss;
  prometheus::TextSerializer().Serialize(ss, families);
  out += ss.str();
  return out;
}

}  // namespace tocsin::http
