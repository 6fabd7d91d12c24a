#include "tocsin/store/batch.hpp"

namespace tocsin::store {

std::string_view to_string(MetricType type) {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    case MetricType::summary: return "summary";
    case MetricType::untyped: return "untyped";
  }
  return "untyped";
}

void Batch::describe(std::string family, MetricType type, std::string help) {
  families_.push_back({std::move(family), type, std::move(help)});
}

void Batch::add(std::string_view name, std::vector<Label> labels, double value) {
  labels.push_back({std::string(kMetricNameLabel), std::string(name)});
  add(Labels::from_unsorted(std::move(labels)), value);
}

void Batch::add(Labels labels, double value, Timestamp timestamp) {
  samples_.push_back({with_valid_utf8_values(std::move(labels)), value, timestamp});
}

}  // namespace tocsin::store
