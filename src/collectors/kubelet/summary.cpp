#include "collectors/kubelet/summary.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "tocsin/core/json_text.hpp"

namespace tocsin::collectors::kubelet {

namespace {

using json = nlohmann::json;
using store::MetricType;

// Every family, in an order the converter relies on: each filesystem group is the six fields of
// FsStats in kFsFields' order, each pressure group the six of kPsiResources x kPsiKinds.
enum Family : int {
  kNodeCpu,
  kNodeMemoryWorkingSet,
  kNodeMemoryRss,
  kNodeMemoryUsage,
  kNodeMemoryAvailable,
  kNodeMemoryPageFaults,
  kNodeMemoryMajorPageFaults,
  kNodeSwapUsage,
  kNodeFs,
  kNodeImageFs = kNodeFs + 6,
  kNodeContainerFs = kNodeImageFs + 6,
  kNodePressure = kNodeContainerFs + 6,
  kPodCpu = kNodePressure + 6,
  kPodMemoryWorkingSet,
  kPodSwapUsage,
  kPodNetworkReceiveBytes,
  kPodNetworkReceiveErrors,
  kPodNetworkTransmitBytes,
  kPodNetworkTransmitErrors,
  kPodProcesses,
  kPodEphemeralStorage,
  kPodPressure = kPodEphemeralStorage + 6,
  kVolumeStats = kPodPressure + 6,
  kContainerCpu = kVolumeStats + 6,
  kContainerMemoryWorkingSet,
  kContainerMemoryRss,
  kContainerMemoryUsage,
  kContainerSwapUsage,
  kContainerStartTime,
  kContainerRootfsUsed,
  kContainerRootfsInodesUsed,
  kContainerLogsUsed,
  kContainerPressure,
  kFamilyCount = kContainerPressure + 6,
};

struct FamilyInfo {
  const char* name;
  MetricType type;
  const char* help;
};

#define TOCSIN_FS_FAMILIES(prefix, what)                                                            \
  {prefix "_available_bytes", MetricType::gauge, "Bytes available to non-root users on " what "."}, \
      {prefix "_capacity_bytes", MetricType::gauge, "Size in bytes of " what "."},                  \
      {prefix "_used_bytes", MetricType::gauge, "Bytes used on " what "."},                         \
      {prefix "_inodes_free", MetricType::gauge, "Free inodes on " what "."},                       \
      {prefix "_inodes", MetricType::gauge, "Inodes of " what "."}, {                               \
    prefix "_inodes_used", MetricType::gauge, "Inodes used on " what "."                            \
  }
#define TOCSIN_PSI_FAMILIES(prefix, what)                                        \
  {prefix "_cpu_waiting_seconds_total", MetricType::counter,                     \
   "Seconds in which some tasks of " what " waited for CPU (PSI some)."},        \
      {prefix "_cpu_stalled_seconds_total", MetricType::counter,                 \
       "Seconds in which all tasks of " what " waited for CPU (PSI full)."},     \
      {prefix "_memory_waiting_seconds_total", MetricType::counter,              \
       "Seconds in which some tasks of " what " waited for memory (PSI some)."}, \
      {prefix "_memory_stalled_seconds_total", MetricType::counter,              \
       "Seconds in which all tasks of " what " waited for memory (PSI full)."},  \
      {prefix "_io_waiting_seconds_total", MetricType::counter,                  \
       "Seconds in which some tasks of " what " waited for I/O (PSI some)."},    \
  {                                                                              \
    prefix "_io_stalled_seconds_total", MetricType::counter,                     \
        "Seconds in which all tasks of " what " waited for I/O (PSI full)."      \
  }

constexpr FamilyInfo kFamilies[kFamilyCount] = {
    {"node_cpu_usage_seconds_total", MetricType::counter,
     "Cumulative CPU time the node used, in core-seconds."},
    {"node_memory_working_set_bytes", MetricType::gauge, "The node's memory working set in bytes."},
    {"node_memory_rss_bytes", MetricType::gauge, "The node's anonymous and swap cache memory in bytes."},
    {"node_memory_usage_bytes", MetricType::gauge, "The node's memory usage in bytes, page cache included."},
    {"node_memory_available_bytes", MetricType::gauge, "Memory available on the node for pods, in bytes."},
    {"node_memory_page_faults_total", MetricType::counter, "Page faults on the node."},
    {"node_memory_major_page_faults_total", MetricType::counter, "Major page faults on the node."},
    {"node_swap_usage_bytes", MetricType::gauge, "Swap the node uses, in bytes."},
    TOCSIN_FS_FAMILIES("kubelet_node_fs", "the node's root filesystem (the kubelet's nodefs)"),
    TOCSIN_FS_FAMILIES("kubelet_node_imagefs", "the filesystem holding container images (imagefs)"),
    TOCSIN_FS_FAMILIES("kubelet_node_containerfs", "the filesystem holding container writable layers"),
    TOCSIN_PSI_FAMILIES("node_pressure", "the node"),
    {"pod_cpu_usage_seconds_total", MetricType::counter,
     "Cumulative CPU time the pod used, in core-seconds."},
    {"pod_memory_working_set_bytes", MetricType::gauge, "The pod's memory working set in bytes."},
    {"pod_swap_usage_bytes", MetricType::gauge, "Swap the pod uses, in bytes."},
    {"container_network_receive_bytes_total", MetricType::counter, "Bytes the pod received, per interface."},
    {"container_network_receive_errors_total", MetricType::counter,
     "Receive errors of the pod, per interface."},
    {"container_network_transmit_bytes_total", MetricType::counter, "Bytes the pod sent, per interface."},
    {"container_network_transmit_errors_total", MetricType::counter,
     "Transmit errors of the pod, per interface."},
    {"kubelet_pod_processes", MetricType::gauge, "Processes running in the pod."},
    TOCSIN_FS_FAMILIES("kubelet_pod_ephemeral_storage", "the pod's ephemeral storage"),
    TOCSIN_PSI_FAMILIES("pod_pressure", "the pod"),
    TOCSIN_FS_FAMILIES("kubelet_volume_stats", "the persistent volume"),
    {"container_cpu_usage_seconds_total", MetricType::counter,
     "Cumulative CPU time the container used, in core-seconds."},
    {"container_memory_working_set_bytes", MetricType::gauge, "The container's memory working set in bytes."},
    {"container_memory_rss", MetricType::gauge, "The container's anonymous and swap cache memory in bytes."},
    {"container_memory_usage_bytes", MetricType::gauge,
     "The container's memory usage in bytes, cache included."},
    {"container_swap_usage_bytes", MetricType::gauge, "Swap the container uses, in bytes."},
    {"container_start_time_seconds", MetricType::gauge, "When the container started, in seconds since 1970."},
    {"kubelet_container_rootfs_used_bytes", MetricType::gauge, "Bytes the container's writable layer uses."},
    {"kubelet_container_rootfs_inodes_used", MetricType::gauge,
     "Inodes the container's writable layer uses."},
    {"kubelet_container_logs_used_bytes", MetricType::gauge, "Bytes the container's logs use."},
    TOCSIN_PSI_FAMILIES("container_pressure", "the container"),
};

#undef TOCSIN_FS_FAMILIES
#undef TOCSIN_PSI_FAMILIES

// FsStats' fields, in the order of each filesystem group.
constexpr const char* kFsFields[] = {"availableBytes", "capacityBytes", "usedBytes",
                                     "inodesFree",     "inodes",        "inodesUsed"};
// Where PSI lives in Node/Pod/ContainerStats, and its two kinds, in each pressure group's order.
constexpr const char* kPsiResources[] = {"cpu", "memory", "io"};
constexpr const char* kPsiKinds[] = {"some", "full"};

class Converter {
 public:
  explicit Converter(store::Batch& out) : out_(out) { path_.reserve(128); }

  SummaryStats run(const json& root) {
    convert_node(root["node"]);
    if (auto it = root.find("pods"); it != root.end() && it->is_array()) {
      std::set<std::pair<std::string, std::string>> volumes;
      std::size_t index = 0;
      for (const json& pod : *it) {
        Scope scope(path_, "pods[", index++);
        convert_pod(pod, volumes);
      }
    }
    return std::move(stats_);
  }

 private:
  // Appends a path segment for the lifetime of the scope (for the message about a skipped field).
  class Scope {
   public:
    Scope(std::string& path, std::string_view segment) : path_(path), size_(path.size()) {
      if (!path_.empty() && segment[0] != '[') path_ += '.';
      path_ += segment;
    }
    Scope(std::string& path, std::string_view segment, std::size_t index) : Scope(path, segment) {
      path_ += std::to_string(index);
      path_ += ']';
    }
    ~Scope() { path_.resize(size_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::string& path_;
    std::size_t size_;
  };

  void skip(std::string_view field) {
    if (stats_.skipped++ > 0) return;
    stats_.first_skipped = path_;
    if (!field.empty()) {
      if (!stats_.first_skipped.empty()) stats_.first_skipped += '.';
      stats_.first_skipped += field;
    }
  }

  // The member `key` of `parent` when it is an object; nullptr when absent or null (omitempty), and
  // also when of another type, which is counted unless `count` is false (a second look at a member).
  const json* object(const json& parent, const char* key, bool count = true) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return nullptr;
    if (!it->is_object()) {
      if (count) skip(key);
      return nullptr;
    }
    return &*it;
  }

  bool number(const json& parent, const char* key, double& value) {
    auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return false;
    if (!it->is_number()) {
      skip(key);
      return false;
    }
    value = it->get<double>();
    return true;
  }

  // A non-empty string member (label values cannot be empty).
  const std::string* string(const json& parent, const char* key) {
    auto it = parent.find(key);
    if (it == parent.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      skip(key);
      return nullptr;
    }
    return &it->get_ref<const std::string&>();
  }

  // `labels` are sorted label pairs after __name__ (every label name sorts after it).
  void add(int family, const std::vector<Label>& labels, double value) {
    const FamilyInfo& info = kFamilies[family];
    if (!described_[family]) {
      out_.describe(info.name, info.type, info.help);
      described_[family] = true;
    }
    std::vector<Label> all;
    all.reserve(labels.size() + 1);
    all.push_back({std::string(kMetricNameLabel), info.name});
    all.insert(all.end(), labels.begin(), labels.end());
    out_.add(Labels::from_sorted(std::move(all)), value);
  }

  void add_number(const json& parent, const char* key, int family, const std::vector<Label>& labels,
                  double scale = 1.0) {
    double value = 0;
    if (number(parent, key, value)) add(family, labels, value * scale);
  }

  void add_fs(const json& parent, const char* key, int first_family, const std::vector<Label>& labels) {
    const json* fs = object(parent, key);
    if (fs == nullptr) return;
    Scope scope(path_, key);
    for (int i = 0; i < 6; ++i) add_number(*fs, kFsFields[i], first_family + i, labels);
  }

  // PSI (KubeletPSI, 1.33+): cpu.psi, memory.psi and io.psi, each {some, full}{total (µs), avg*}.
  void add_pressure(const json& stats, int first_family, const std::vector<Label>& labels) {
    for (int r = 0; r < 3; ++r) {
      // cpu and memory were looked at already for their usage.
      const json* resource = object(stats, kPsiResources[r], std::string_view(kPsiResources[r]) == "io");
      if (resource == nullptr) continue;
      Scope resource_scope(path_, kPsiResources[r]);
      const json* psi = object(*resource, "psi");
      if (psi == nullptr) continue;
      Scope psi_scope(path_, "psi");
      for (int k = 0; k < 2; ++k) {
        const json* kind = object(*psi, kPsiKinds[k]);
        if (kind == nullptr) continue;
        Scope kind_scope(path_, kPsiKinds[k]);
        add_number(*kind, "total", first_family + 2 * r + k, labels, 1e-6);
      }
    }
  }

  void convert_node(const json& node) {
    Scope scope(path_, "node");
    const std::vector<Label> none;
    if (const json* cpu = object(node, "cpu")) {
      Scope s(path_, "cpu");
      add_number(*cpu, "usageCoreNanoSeconds", kNodeCpu, none, 1e-9);
    }
    if (const json* memory = object(node, "memory")) {
      Scope s(path_, "memory");
      add_number(*memory, "workingSetBytes", kNodeMemoryWorkingSet, none);
      add_number(*memory, "rssBytes", kNodeMemoryRss, none);
      add_number(*memory, "usageBytes", kNodeMemoryUsage, none);
      add_number(*memory, "availableBytes", kNodeMemoryAvailable, none);
      add_number(*memory, "pageFaults", kNodeMemoryPageFaults, none);
      add_number(*memory, "majorPageFaults", kNodeMemoryMajorPageFaults, none);
    }
    if (const json* swap = object(node, "swap")) {
      Scope s(path_, "swap");
      add_number(*swap, "swapUsageBytes", kNodeSwapUsage, none);
    }
    add_fs(node, "fs", kNodeFs, none);
    if (const json* runtime = object(node, "runtime")) {
      Scope s(path_, "runtime");
      add_fs(*runtime, "imageFs", kNodeImageFs, none);
      add_fs(*runtime, "containerFs", kNodeContainerFs, none);
    }
    add_pressure(node, kNodePressure, none);
  }

  void convert_pod(const json& pod, std::set<std::pair<std::string, std::string>>& volumes) {
    if (!pod.is_object()) return skip("");
    const json* ref = object(pod, "podRef");
    if (ref == nullptr) return skip("podRef");
    const std::string* name = nullptr;
    const std::string* ns = nullptr;
    {
      Scope s(path_, "podRef");
      name = string(*ref, "name");
      ns = string(*ref, "namespace");
    }
    if (name == nullptr || ns == nullptr) return;
    ++stats_.pods;
    const std::vector<Label> labels = {{"namespace", *ns}, {"pod", *name}};

    if (const json* cpu = object(pod, "cpu")) {
      Scope s(path_, "cpu");
      add_number(*cpu, "usageCoreNanoSeconds", kPodCpu, labels, 1e-9);
    }
    if (const json* memory = object(pod, "memory")) {
      Scope s(path_, "memory");
      add_number(*memory, "workingSetBytes", kPodMemoryWorkingSet, labels);
    }
    if (const json* swap = object(pod, "swap")) {
      Scope s(path_, "swap");
      add_number(*swap, "swapUsageBytes", kPodSwapUsage, labels);
    }
    if (const json* network = object(pod, "network")) convert_network(*network, *ns, *name);
    add_fs(pod, "ephemeral-storage", kPodEphemeralStorage, labels);
    if (const json* process = object(pod, "process_stats")) {
      Scope s(path_, "process_stats");
      add_number(*process, "process_count", kPodProcesses, labels);
    }
    add_pressure(pod, kPodPressure, labels);
    if (auto it = pod.find("volume"); it != pod.end() && !it->is_null()) {
      if (!it->is_array()) {
        skip("volume");
      } else {
        std::size_t index = 0;
        for (const json& volume : *it) {
          Scope s(path_, "volume[", index++);
          convert_volume(volume, volumes);
        }
      }
    }
    if (auto it = pod.find("containers"); it != pod.end() && !it->is_null()) {
      if (!it->is_array()) {
        skip("containers");
      } else {
        std::size_t index = 0;
        for (const json& container : *it) {
          Scope s(path_, "containers[", index++);
          convert_container(container, *ns, *name);
        }
      }
    }
  }

  // NetworkStats: the default interface's counters inline and every interface in `interfaces`. The
  // list when there is one (it holds the default interface too), else the inline one.
  void convert_network(const json& network, const std::string& ns, const std::string& pod) {
    Scope scope(path_, "network");
    auto interface = [&](const json& stats) {
      if (!stats.is_object()) return skip("");
      const std::string* name = string(stats, "name");
      if (name == nullptr) return;
      const std::vector<Label> labels = {{"interface", *name}, {"namespace", ns}, {"pod", pod}};
      add_number(stats, "rxBytes", kPodNetworkReceiveBytes, labels);
      add_number(stats, "rxErrors", kPodNetworkReceiveErrors, labels);
      add_number(stats, "txBytes", kPodNetworkTransmitBytes, labels);
      add_number(stats, "txErrors", kPodNetworkTransmitErrors, labels);
    };
    auto it = network.find("interfaces");
    if (it != network.end() && it->is_array() && !it->empty()) {
      std::size_t index = 0;
      for (const json& stats : *it) {
        Scope s(path_, "interfaces[", index++);
        interface(stats);
      }
    } else if (network.contains("name")) {
      interface(network);
    }
  }

  // Only volumes backed by a PVC, as the kubelet's own kubelet_volume_stats_*: a PVC mounted by two
  // pods of the node is reported once.
  void convert_volume(const json& volume, std::set<std::pair<std::string, std::string>>& seen) {
    if (!volume.is_object()) return skip("");
    const json* ref = object(volume, "pvcRef");
    if (ref == nullptr) return;
    const std::string* name = nullptr;
    const std::string* ns = nullptr;
    {
      Scope s(path_, "pvcRef");
      name = string(*ref, "name");
      ns = string(*ref, "namespace");
    }
    if (name == nullptr || ns == nullptr) return;
    if (!seen.emplace(*ns, *name).second) return;
    const std::vector<Label> labels = {{"namespace", *ns}, {"persistentvolumeclaim", *name}};
    for (int i = 0; i < 6; ++i) add_number(volume, kFsFields[i], kVolumeStats + i, labels);
  }

  void convert_container(const json& container, const std::string& ns, const std::string& pod) {
    if (!container.is_object()) return skip("");
    const std::string* name = string(container, "name");
    if (name == nullptr) return;
    ++stats_.containers;
    const std::vector<Label> labels = {{"container", *name}, {"namespace", ns}, {"pod", pod}};
    if (auto it = container.find("startTime"); it != container.end() && !it->is_null()) {
      double seconds = 0;
      if (it->is_string() && parse_rfc3339(it->get_ref<const std::string&>(), seconds)) {
        add(kContainerStartTime, labels, seconds);
      } else {
        skip("startTime");
      }
    }
    if (const json* cpu = object(container, "cpu")) {
      Scope s(path_, "cpu");
      add_number(*cpu, "usageCoreNanoSeconds", kContainerCpu, labels, 1e-9);
    }
    if (const json* memory = object(container, "memory")) {
      Scope s(path_, "memory");
      add_number(*memory, "workingSetBytes", kContainerMemoryWorkingSet, labels);
      add_number(*memory, "rssBytes", kContainerMemoryRss, labels);
      add_number(*memory, "usageBytes", kContainerMemoryUsage, labels);
    }
    if (const json* swap = object(container, "swap")) {
      Scope s(path_, "swap");
      add_number(*swap, "swapUsageBytes", kContainerSwapUsage, labels);
    }
    if (const json* rootfs = object(container, "rootfs")) {
      Scope s(path_, "rootfs");
      add_number(*rootfs, "usedBytes", kContainerRootfsUsed, labels);
      add_number(*rootfs, "inodesUsed", kContainerRootfsInodesUsed, labels);
    }
    if (const json* logs = object(container, "logs")) {
      Scope s(path_, "logs");
      add_number(*logs, "usedBytes", kContainerLogsUsed, labels);
    }
    add_pressure(container, kContainerPressure, labels);
  }

  store::Batch& out_;
  bool described_[kFamilyCount] = {};
  SummaryStats stats_;
  std::string path_;
};

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil).
long long days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

}  // namespace

bool parse_rfc3339(std::string_view text, double& seconds) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(text, 5, 2, month) ||
      text[7] != '-' || !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
      !digits(text, 17, 2, second)) {
    return false;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDays[month - 1] || hour > 23 || minute > 59 || second > 60)
    return false;
  std::size_t pos = 19;
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    ++pos;
    const std::size_t start = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10)
      fraction += (text[pos] - '0') * scale;
    if (pos == start) return false;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offset_minutes = (text[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  const long long days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const long long whole = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60LL;
  seconds = static_cast<double>(whole) + fraction;
  return true;
}

SummaryStats convert_summary(std::string_view text, store::Batch& out) {
  json root;
  try {
    root = parse_json_bounded(text);
  } catch (const json::parse_error& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1, column 7: ..."; keep
    // what follows the tag.
    std::string_view message = e.what();
    if (auto close = message.find("] "); close != std::string_view::npos) message.remove_prefix(close + 2);
    throw SummaryError("not JSON: " + std::string(message));
  }
  if (!root.is_object()) throw SummaryError("not a kubelet summary: the document is not a JSON object");
  auto node = root.find("node");
  if (node == root.end() || !node->is_object())
    throw SummaryError("not a kubelet summary: no \"node\" object");
  if (auto pods = root.find("pods"); pods != root.end() && !pods->is_null() && !pods->is_array())
    throw SummaryError("not a kubelet summary: \"pods\" is not a list");
  return Converter(out).run(root);
}

}  // namespace tocsin::collectors::kubelet
