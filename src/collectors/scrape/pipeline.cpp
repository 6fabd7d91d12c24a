#include "collectors/scrape/pipeline.hpp"

#include <algorithm>
#include <deque>
#include <map>

namespace tocsin::collectors::scrape {

namespace {

std::string_view cut(std::string_view s, std::size_t n = 50) { return s.substr(0, n); }

std::string_view find(const std::vector<Label>& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

// What Prometheus's mutateSampleLabels does with the target's labels.
void merge_target(RelabelLabels& work, const Labels& target, bool honor, std::vector<Label>& exposed,
                  std::vector<Label>& conflicts) {
  if (honor) {
    for (const Label& t : target) {
      if (work.get(t.name).empty()) work.set(t.name, t.value);
    }
    return;
  }
  conflicts.clear();
  bool any = false;
  for (const Label& t : target) {
    if (std::string_view existing = work.get(t.name); !existing.empty()) {
      if (!any) {
        exposed = work.items();  // the exposed set, before any target label is written
        any = true;
      }
      conflicts.push_back({t.name, std::string(existing)});
    }
  }
  for (const Label& t : target) work.set(t.name, t.value);
  if (!any) return;
  std::stable_sort(conflicts.begin(), conflicts.end(),
                   [](const Label& a, const Label& b) { return a.name.size() < b.name.size(); });
  for (std::size_t i = 0; i < conflicts.size(); ++i) {
    std::string name = conflicts[i].name;
    while (true) {
      name.insert(0, "exported_");
      const bool taken = !find(exposed, name).empty() || target.has(name) ||
                         std::any_of(conflicts.begin(), conflicts.begin() + static_cast<std::ptrdiff_t>(i),
                                     [&](const Label& c) { return c.name == name; });
      if (!taken) break;
    }
    conflicts[i].name = std::move(name);
  }
  for (const Label& c : conflicts) work.set(c.name, c.value);
}

}  // namespace

Labels report_labels(std::string_view name, const Labels& target) {
  std::vector<Label> labels(target.begin(), target.end());
  labels.push_back({std::string(kMetricNameLabel), std::string(name)});
  return Labels::from_unsorted(std::move(labels));
}

namespace {

// The time a sample is stored at: its own with honor_timestamps (as Prometheus), else the scrape's.
Timestamp time_of(const Entry& entry, const SampleOptions& options) {
  return options.honor_timestamps && entry.timestamp ? *entry.timestamp : store::kCommitTime;
}

void remember(SeriesCache& cache, std::string_view series, SeriesCache::Entry entry) {
  auto [it, inserted] = cache.entries_.insert_or_assign(std::string(series), std::move(entry));
  cache.next_order_.push_back(&*it);
}

AppendResult append(std::string_view body, Format format, const Labels& target, const SampleOptions& options,
                    const SeriesSet& previous, SeriesSet& current, SeriesCache* cache, store::Batch& out) {
  AppendResult result;
  ExpositionParser parser(body, format);
  Entry entry;
  struct Family {
    store::MetricType type = store::MetricType::untyped;
    std::string_view help;
    bool typed = false;
  };
  std::map<std::string_view, Family> families;  // views into the body; help copied at the end
  std::deque<std::string> helps;  // unescaped help texts (the parser reuses its buffer); deque: stable
  RelabelLabels work;
  std::vector<Label> exposed;
  std::vector<Label> conflicts;
  current.clear();

  while (parser.next(entry)) {
    switch (entry.kind) {
      case EntryKind::type: {
        Family& f = families[entry.name];
        f.type = entry.type;
        f.typed = true;
        continue;
      }
      case EntryKind::help: {
        helps.emplace_back(entry.text);
        families[entry.name].help = helps.back();
        continue;
      }
      case EntryKind::unit: continue;
      case EntryKind::sample: break;
    }
    ++result.scraped;
    if (entry.timestamp) ++result.with_timestamp;
    SeriesCache::Entry* cached = nullptr;
    if (cache != nullptr) {
      const std::size_t i = result.scraped - 1;
      SeriesCache::Map::value_type* slot = nullptr;
      if (i < cache->order_.size() && cache->order_[i]->first == entry.series) {
        slot = cache->order_[i];
      } else if (auto it = cache->entries_.find(entry.series); it != cache->entries_.end()) {
        slot = &*it;
      }
      if (slot != nullptr) {
        cached = &slot->second;
        cache->next_order_.push_back(slot);
      }
    }
    if (cached != nullptr) {
      // The same text twice in one body is a duplicate; an entry the last good scrape did not see
      // is a series added. (One label set written two ways, {a,b} and {b,a}, in one body reaches
      // the store twice, which drops the second and counts it.)
      const bool repeated = cached->seen == cache->generation_;
      const bool added = cached->seen != cache->last_good_;
      cached->seen = cache->generation_;
      if (cached->dropped) continue;
      if (repeated) {
        ++result.duplicates;
        continue;
      }
      if (added) ++result.series_added;
      ++result.kept;
      if (options.sample_limit > 0 && result.kept > options.sample_limit) {
        throw ScrapeFailure("sample_limit exceeded: more than " + std::to_string(options.sample_limit) +
                            " samples after metric_relabel_configs");
      }
      out.samples().push_back({cached->labels, entry.value, time_of(entry, options)});
      continue;
    }

    // The exposed labels, sorted, the empty ones left out (an empty value is no label).
    std::vector<Label>& items = work.mutable_items();
    std::size_t n = 0;
    auto put = [&](std::string_view name, std::string_view value) {
      if (value.empty()) return;
      if (n < items.size()) {
        items[n].name.assign(name);
        items[n].value.assign(value);
      } else {
        items.push_back({std::string(name), std::string(value)});
      }
      ++n;
    };
    put(kMetricNameLabel, entry.name);
    for (const ExpositionLabel& l : entry.labels) put(l.name, l.value);
    items.resize(n);
    std::sort(items.begin(), items.end(), [](const Label& a, const Label& b) { return a.name < b.name; });

    merge_target(work, target, options.honor_labels, exposed, conflicts);
    if ((!options.metric_relabel.empty() && !relabel(options.metric_relabel, work)) || work.items().empty()) {
      if (cache != nullptr) remember(*cache, entry.series, {{}, 0, true, cache->generation_});
      continue;
    }
    const std::vector<Label>& final_labels = work.items();
    const std::string_view metric = work.get(kMetricNameLabel);
    if (metric.empty()) {
      throw ScrapeFailure("line " + std::to_string(entry.line) +
                          ": metric_relabel_configs removed __name__ of " + std::string(entry.name));
    }
    if (!is_valid_metric_name(metric)) {
      throw ScrapeFailure("line " + std::to_string(entry.line) + ": invalid metric name \"" +
                          std::string(cut(metric)) + "\" after metric_relabel_configs");
    }
    if (options.label_limit > 0 && final_labels.size() > options.label_limit) {
      throw ScrapeFailure("label_limit exceeded (metric: " + std::string(cut(metric)) +
                          ", number of labels: " + std::to_string(final_labels.size()) +
                          ", limit: " + std::to_string(options.label_limit) + ")");
    }
    for (const Label& l : final_labels) {
      if (l.name != kMetricNameLabel && !is_valid_label_name(l.name)) {
        throw ScrapeFailure("line " + std::to_string(entry.line) + ": invalid label name \"" +
                            std::string(cut(l.name)) + "\" after relabelling");
      }
      if (options.label_name_length_limit > 0 && l.name.size() > options.label_name_length_limit) {
        throw ScrapeFailure("label_name_length_limit exceeded (metric: " + std::string(cut(metric)) +
                            ", label name: " + std::string(cut(l.name)) +
                            ", length: " + std::to_string(l.name.size()) +
                            ", limit: " + std::to_string(options.label_name_length_limit) + ")");
      }
      if (options.label_value_length_limit > 0 && l.value.size() > options.label_value_length_limit) {
        throw ScrapeFailure("label_value_length_limit exceeded (metric: " + std::string(cut(metric)) +
                            ", label name: " + std::string(cut(l.name)) + ", value: \"" +
                            std::string(cut(l.value)) + "\", length: " + std::to_string(l.value.size()) +
                            ", limit: " + std::to_string(options.label_value_length_limit) + ")");
      }
    }
    Labels labels = Labels::from_sorted(final_labels);
    const std::uint64_t hash = labels.hash();
    if (cache != nullptr) remember(*cache, entry.series, {labels, hash, false, cache->generation_});
    if (!current.insert(hash).second) {
      ++result.duplicates;  // Prometheus drops a second sample of a series at the same timestamp
      continue;
    }
    if (cache != nullptr || !previous.contains(hash)) ++result.series_added;
    ++result.kept;
    if (options.sample_limit > 0 && result.kept > options.sample_limit) {
      throw ScrapeFailure("sample_limit exceeded: more than " + std::to_string(options.sample_limit) +
                          " samples after metric_relabel_configs");
    }
    out.samples().push_back({std::move(labels), entry.value, time_of(entry, options)});
  }
  for (const auto& [name, f] : families) {
    if (f.typed || !f.help.empty()) out.describe(std::string(name), f.type, std::string(f.help));
  }
  return result;
}

}  // namespace

AppendResult append_exposition(std::string_view body, Format format, const Labels& target,
                               const SampleOptions& options, const SeriesSet& previous, SeriesSet& current,
                               store::Batch& out) {
  return append(body, format, target, options, previous, current, nullptr, out);
}

AppendResult append_exposition_cached(std::string_view body, Format format, const Labels& target,
                                      const SampleOptions& options, const SeriesSet& previous,
                                      SeriesSet& current, SeriesCache& cache, store::Batch& out) {
  ++cache.generation_;
  out.set_labels_cached(true);
  out.samples().reserve(out.samples().size() + cache.entries_.size());
  cache.next_order_.clear();
  AppendResult result;
  try {
    result = append(body, format, target, options, previous, current, &cache, out);
  } catch (...) {
    cache.order_.clear();  // a partial order; the next scrape rebuilds it
    throw;
  }
  cache.last_good_ = cache.generation_;
  std::swap(cache.order_, cache.next_order_);
  // Series gone from the exposition leave the cache once they are a third of it.
  if (cache.entries_.size() > result.scraped + result.scraped / 2 + 16) {
    std::erase_if(cache.entries_, [&](const auto& kv) { return kv.second.seen != cache.generation_; });
    // order_ holds only entries seen now, which stay.
  }
  return result;
}

}  // namespace tocsin::collectors::scrape
