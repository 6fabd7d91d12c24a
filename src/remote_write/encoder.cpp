#include "remote_write/encoder.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <snappy.h>

#include <bit>

#include "remote_write/relabel_rules.hpp"

namespace tocsin::remote_write {

namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

// Field numbers of remote.proto (Prometheus's prompb).
constexpr int kWriteRequestTimeseries = 1;
constexpr int kTimeSeriesLabels = 1;
constexpr int kTimeSeriesSamples = 2;
constexpr int kLabelName = 1;
constexpr int kLabelValue = 2;
constexpr int kSampleValue = 1;
constexpr int kSampleTimestamp = 2;

std::size_t string_field_size(std::size_t length) {
  return 1 + CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(length)) + length;
}

// A Sample message: value (fixed64; proto3 leaves out 0.0, as the generated code does) and timestamp
// (varint; left out when 0).
std::size_t sample_size(const WireSample& s) {
  std::size_t n = 0;
  if (std::bit_cast<std::uint64_t>(s.value) != 0) n += 1 + 8;
  if (s.t != 0) n += 1 + CodedOutputStream::VarintSize64(static_cast<std::uint64_t>(s.t));
  return n;
}

}  // namespace

SendSeries::SendSeries(Labels l) : labels(std::move(l)) {
  std::size_t size = 0;
  for (const Label& label : labels) {
    const std::size_t inner = string_field_size(label.name.size()) + string_field_size(label.value.size());
    size += 1 + CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(inner)) + inner;
  }
  encoded_labels.reserve(size);
  google::protobuf::io::StringOutputStream stream(&encoded_labels);
  CodedOutputStream out(&stream);
  for (const Label& label : labels) {
    const std::size_t inner = string_field_size(label.name.size()) + string_field_size(label.value.size());
    WireFormatLite::WriteTag(kTimeSeriesLabels, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &out);
    out.WriteVarint32(static_cast<std::uint32_t>(inner));
    WireFormatLite::WriteString(kLabelName, label.name, &out);
    WireFormatLite::WriteString(kLabelValue, label.value, &out);
  }
}

std::string Encoder::encode(std::span<const WireSample> samples, std::size_t* uncompressed_bytes) {
  index_.clear();
  for (auto& list : by_series_) list.clear();
  std::size_t series = 0;
  for (std::uint32_t i = 0; i < samples.size(); ++i) {
    auto [it, inserted] = index_.try_emplace(samples[i].series.get(), static_cast<std::uint32_t>(series));
    if (inserted) {
      if (by_series_.size() <= series) by_series_.emplace_back();
      ++series;
    }
    by_series_[it->second].push_back(i);
  }
  serialized_.clear();
  {
    google::protobuf::io::StringOutputStream stream(&serialized_);
    CodedOutputStream out(&stream);
    for (std::size_t k = 0; k < series; ++k) {
      const std::vector<std::uint32_t>& list = by_series_[k];
      const SendSeries& s = *samples[list.front()].series;
      std::size_t size = s.encoded_labels.size();
      for (std::uint32_t i : list) {
        const std::size_t n = sample_size(samples[i]);
        size += 1 + CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(n)) + n;
      }
      WireFormatLite::WriteTag(kWriteRequestTimeseries, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &out);
      out.WriteVarint32(static_cast<std::uint32_t>(size));
      out.WriteRaw(s.encoded_labels.data(), static_cast<int>(s.encoded_labels.size()));
      for (std::uint32_t i : list) {
        const WireSample& sample = samples[i];
        WireFormatLite::WriteTag(kTimeSeriesSamples, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &out);
        out.WriteVarint32(static_cast<std::uint32_t>(sample_size(sample)));
        if (std::bit_cast<std::uint64_t>(sample.value) != 0)
          WireFormatLite::WriteDouble(kSampleValue, sample.value, &out);
        if (sample.t != 0) WireFormatLite::WriteInt64(kSampleTimestamp, sample.t, &out);
      }
    }
  }
  if (uncompressed_bytes != nullptr) *uncompressed_bytes = serialized_.size();
  std::string body;
  snappy::Compress(serialized_.data(), serialized_.size(), &body);
  return body;
}

SeriesResolver::SeriesResolver(Labels external, std::shared_ptr<const RelabelRules> rules,
                               std::size_t max_cached)
    : external_(std::move(external)), rules_(std::move(rules)), max_cached_(max_cached) {}
SeriesResolver::~SeriesResolver() = default;

SeriesRef SeriesResolver::compute(const Labels& committed) const {
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
  if (rules_ != nullptr && !rules_->rules.empty()) {
    collectors::scrape::RelabelLabels work(std::vector<Label>(labels.begin(), labels.end()));
    if (!collectors::scrape::relabel(rules_->rules, work) || work.items().empty()) return nullptr;
    labels = Labels::from_sorted(std::move(work.mutable_items()));
  }
  return std::make_shared<const SendSeries>(std::move(labels));
}

const SeriesRef& SeriesResolver::resolve(const Labels& committed) {
  if (auto it = cache_.find(committed); it != cache_.end()) return it->second;
  // A bound on what a churning writer can make it hold: start over (each set is recomputed once).
  if (cache_.size() >= max_cached_) {
    cache_.clear();
    hints_.clear();
  }
  return cache_.emplace(committed, compute(committed)).first->second;
}

const SeriesRef& SeriesResolver::resolve(std::uint32_t writer, std::size_t position,
                                         const Labels& committed) {
  std::vector<Hint>& hints = hints_[writer];
  if (position < hints.size() && hints[position].committed.shares_with(committed))
    return hints[position].series;
  const SeriesRef& series = resolve(committed);
  // resolve() may have cleared hints_ (and with it `hints`).
  std::vector<Hint>& now = hints_[writer];
  if (now.size() <= position) now.resize(position + 1);
  now[position] = {committed, series};
  return series;
}

}  // namespace tocsin::remote_write
