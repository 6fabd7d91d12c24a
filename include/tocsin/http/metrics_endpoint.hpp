#pragma once
// GET /metrics: the store's newest samples followed by tocsin's own metrics, in the Prometheus text
// format 0.0.4.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <string>
#include <vector>

#include "tocsin/store/store.hpp"

namespace tocsin::http {

// process_* metrics as the official client libraries export them: CPU seconds, resident and virtual
// memory, open and max file descriptors, start time. Reads /proc/self on each Collect().
class ProcessMetrics final : public prometheus::Collectable {
 public:
  ProcessMetrics();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  double start_time_seconds_ = 0;
};

// tocsin_store_series, tocsin_store_points and tocsin_store_bytes, read from the store on Collect().
class StoreMetrics final : public prometheus::Collectable {
 public:
  explicit StoreMetrics(const store::Store& store) : store_(store) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const store::Store& store_;
};

// The whole exposition: collected series first, then every collectable's families.
std::string render_metrics(const store::Store& store,
                           const std::vector<std::shared_ptr<prometheus::Collectable>>& own);

}  // namespace tocsin::http
