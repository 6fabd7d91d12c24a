#include "remote_write/encoder.hpp"

#include <google/protobuf/arena.h>
#include <snappy.h>

#include "remote_write/relabel_rules.hpp"
#include "remote_write/remote.pb.h"

namespace tocsin::remote_write {

struct Encoder::Impl {
  std::string serialized;
  std::unordered_map<const Label*, wire::TimeSeries*> by_series;
};

Encoder::Encoder() : impl_(std::make_unique<Impl>()) {}
Encoder::~Encoder() = default;

std::string Encoder::encode(std::span<const WireSample> samples, std::size_t* uncompressed_bytes) {
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<wire::WriteRequest>(&arena);
  auto& by_series = impl_->by_series;
  by_series.clear();
  for (const WireSample& s : samples) {
    auto [it, inserted] = by_series.try_emplace(s.labels.begin(), nullptr);
    if (inserted) {
      it->second = request->add_timeseries();
      it->second->mutable_labels()->Reserve(static_cast<int>(s.labels.size()));
      for (const Label& l : s.labels) {
        wire::Label* out = it->second->add_labels();
        out->set_name(l.name);
        out->set_value(l.value);
      }
    }
    wire::Sample* sample = it->second->add_samples();
    sample->set_value(s.value);
    sample->set_timestamp(s.t);
  }
  impl_->serialized.clear();
  request->SerializeToString(&impl_->serialized);
  if (uncompressed_bytes != nullptr) *uncompressed_bytes = impl_->serialized.size();
  std::string body;
  snappy::Compress(impl_->serialized.data(), impl_->serialized.size(), &body);
  return body;
}

SeriesResolver::SeriesResolver(Labels external, std::shared_ptr<const RelabelRules> rules, std::size_t max_cached)
    : external_(std::move(external)), rules_(std::move(rules)), max_cached_(max_cached) {}
SeriesResolver::~SeriesResolver() = default;

Labels SeriesResolver::compute(const Labels& committed) const {
  Labels labels = committed;
  if (!external_.empty()) {
    LabelsBuilder b(committed);
    bool changed = false;
    for (const Label& l : external_) {
      if (!committed.has(l.name)) {
        b.set(l.name, l.value);
        changed = true;
      }
    }
    if (changed) labels = b.build();
  }
  if (rules_ == nullptr || rules_->rules.empty()) return labels;
  collectors::scrape::RelabelLabels work(std::vector<Label>(labels.begin(), labels.end()));
  if (!collectors::scrape::relabel(rules_->rules, work)) return {};
  return Labels::from_sorted(std::move(work.mutable_items()));
}

const Labels& SeriesResolver::resolve(const Labels& committed) {
  if (auto it = cache_.find(committed); it != cache_.end()) return it->second;
  // A bound on what a churning writer can make it hold: start over (each set is recomputed once).
  if (cache_.size() >= max_cached_) cache_.clear();
  return cache_.emplace(committed, compute(committed)).first->second;
}

}  // namespace tocsin::remote_write
