#pragma once
// Targets as Prometheus makes them (scrape/target.go, PopulateLabels and Target.URL): the
// discovered labels (__address__, the group's labels, __meta_filepath), the job's __scheme__,
// __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_<name>, then
// relabel_configs, then the public labels: every label not starting with __, with `instance`
// defaulting to the address. And the target files of file_sd_configs. Pure: no I/O.

#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/scrape/relabel.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::collectors::scrape {

struct JobSettings {
  std::string job;
  std::string scheme = "http";
  std::string metrics_path = "/metrics";
  std::string scrape_interval;  // as Prometheus prints it: "15s", "1m"
  std::string scrape_timeout;
  std::map<std::string, std::vector<std::string>> params;
};

struct ScrapeTarget {
  Labels labels;  // the public labels: job, instance and the rest that do not start with __
  std::string url;
  // Every label after relabelling, the __ ones included (what Prometheus shows as the target's).
  std::vector<Label> discovered;
};

// A group of targets sharing labels (a static_configs entry, or an entry of a target file).
struct TargetGroup {
  std::vector<std::string> targets;
  std::vector<Label> labels;  // sorted by name
};

// The target for `address` in `group`, or nullopt when relabel_configs dropped it. Throws
// std::invalid_argument (naming the address) when relabelling left no usable __address__ or a
// label value that is not valid UTF-8.
std::optional<ScrapeTarget> populate_target(std::string_view address, std::span<const Label> group_labels,
                                            const JobSettings& job, std::span<const RelabelRule> rules);

// Go's url.Values.Encode: keys sorted, keys and values query-escaped, '&'-joined.
std::string encode_query(const std::map<std::string, std::vector<std::string>>& params);

// A file_sd target file (JSON or YAML; JSON is read as YAML): a list of {targets: [...], labels:
// {...}}. Each group gets __meta_filepath = `path`. Throws std::runtime_error naming the file, line
// and column of the first problem.
std::vector<TargetGroup> parse_target_file(const std::string& text, const std::string& path);

}  // namespace tocsin::collectors::scrape
