// Coverage against node_exporter 1.5 (issue 14, point 4): the host collector runs on this machine's
// real /proc and /sys, and its families (names, types, label names) are compared with what
// node_exporter prints on the same machine: live, from the Debian package started on a free port,
// and with the list captured from it (/work/shared/reference copy in data/node_exporter_1.5.families.txt).
// What tocsin leaves out on purpose is listed with the reason in data/node_exporter_left_out.txt.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "collectors/host/host.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"

namespace tocsin::collectors {
namespace {

using store::Batch;

struct Family {
  std::string type;
  std::set<std::string> labels;          // label names with a non-empty value on some series
  std::map<std::string, double> series;  // non-empty labels as name="value",... -> value
};
using Families = std::map<std::string, Family>;

std::string data_file(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/collectors/host/data/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Families of node_exporter that are about node_exporter itself, not the host.
bool exporter_self(const std::string& name) {
  return name.starts_with("go_") || name.starts_with("process_") || name.starts_with("promhttp_") ||
         name.starts_with("node_scrape_collector_") || name == "node_exporter_build_info" ||
         name == "node_textfile_scrape_error";
}

// "name type labels" lines (labels comma-separated or "-"), as in the reference list.
Families parse_family_list(const std::string& text) {
  Families out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, type, labels;
    fields >> name >> type >> labels;
    Family f{type, {}, {}};
    std::istringstream names(labels);
    for (std::string label; std::getline(names, label, ',');) {
      if (label != "-" && !label.empty()) f.labels.insert(label);
    }
    out[name] = f;
  }
  return out;
}

// The families of a text exposition: # TYPE lines and the label names of each series whose value is
// not empty (an empty label is no label to Prometheus; tocsin does not store them).
Families parse_exposition(const std::string& text) {
  Families out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# TYPE ")) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      out[name].type = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const std::size_t brace = line.find('{');
    const std::size_t space = line.find(' ');
    const std::string name = line.substr(0, std::min(brace, space));
    Family& family = out[name];
    std::string key;
    if (brace == std::string::npos || brace > space) {
      family.series[key] = std::stod(line.substr(space + 1));
      continue;
    }
    std::size_t i = brace + 1;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find("=\"", i);
      if (eq == std::string::npos) break;
      const std::string label = line.substr(i, eq - i);
      std::size_t j = eq + 2;  // after ="
      std::string value;
      while (j < line.size() && line[j] != '"') {
        if (line[j] == '\\') ++j;
        value += line[j++];
      }
      if (!value.empty()) {
        family.labels.insert(label);
        key += (key.empty() ? "" : ",") + label + "=\"" + value + "\"";
      }
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    family.series[key] = std::stod(line.substr(line.find(' ', i) + 1));
  }
  return out;
}

Families tocsin_families() {
  config::HostCollectorConfig config;  // the defaults: /proc, /sys, node_exporter's exclusions
  auto collector = make_host_collector(
      config, std::make_shared<spdlog::logger>("host", std::make_shared<spdlog::sinks::null_sink_mt>()));
  Batch batch;
  collector->collect({.timestamp = 1'700'000'000'000,
                      .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10)},
                     batch);
  Families out;
  for (const auto& f : batch.families()) out[f.name].type = std::string(store::to_string(f.type));
  for (const auto& s : batch.samples()) {
    Family& f = out[std::string(s.labels.metric_name())];
    std::string key;
    for (const auto& label : s.labels) {
      if (label.name == kMetricNameLabel) continue;
      f.labels.insert(label.name);
      key += (key.empty() ? "" : ",") + label.name + "=\"" + label.value + "\"";
    }
    f.series[key] = s.value;
  }
  return out;
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out.empty() ? "-" : out;
}

std::map<std::string, std::string> left_out() {
  std::map<std::string, std::string> out;
  std::istringstream in(data_file("node_exporter_left_out.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.find(' ');
    out[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
  }
  return out;
}

// Compares and returns the share of node_exporter's non-self families that tocsin exports with the
// same name, type and label names. `exact_labels`: label names must be equal (live, where empty values
// are known); otherwise tocsin's must be a subset (the list keeps names whose values were empty).
double compare(const Families& theirs, const Families& ours, bool exact_labels, const std::string& what) {
  const auto excused = left_out();
  std::size_t total = 0;
  std::size_t matched = 0;
  for (const auto& [name, family] : theirs) {
    if (exporter_self(name)) continue;
    ++total;
    auto it = ours.find(name);
    if (it == ours.end()) {
      EXPECT_TRUE(excused.contains(name))
          << what << ": " << name << " (" << family.type << " " << join(family.labels)
          << ") missing and not in node_exporter_left_out.txt";
      continue;
    }
    EXPECT_EQ(it->second.type, family.type) << what << ": type of " << name;
    if (exact_labels) {
      EXPECT_EQ(join(it->second.labels), join(family.labels)) << what << ": labels of " << name;
    } else {
      EXPECT_TRUE(std::includes(family.labels.begin(), family.labels.end(), it->second.labels.begin(),
                                it->second.labels.end()))
          << what << ": labels of " << name << ": " << join(it->second.labels) << " not within "
          << join(family.labels);
    }
    if (it->second.type == family.type) ++matched;
  }
  // A family listed as left out that tocsin does export is a stale entry.
  for (const auto& [name, reason] : excused) {
    EXPECT_FALSE(ours.contains(name)) << name << " is exported but listed in node_exporter_left_out.txt";
  }
  const double share = total == 0 ? 0 : static_cast<double>(matched) / static_cast<double>(total);
  std::cout << what << ": " << matched << " of " << total << " node_exporter families ("
            << static_cast<int>(share * 1000) / 10.0 << " %)\n";
  return share;
}

TEST(HostCoverage, AgainstTheCapturedNodeExporterList) {
  const Families theirs = parse_family_list(data_file("node_exporter_1.5.families.txt"));
  ASSERT_GT(theirs.size(), 200u);
  const double share = compare(theirs, tocsin_families(), false, "reference list");
  EXPECT_GE(share, 0.95);
}

TEST(HostCoverage, AgainstALiveNodeExporterOnThisMachine) {
  const auto binary = testing::find_executable("/usr/bin/prometheus-node-exporter");
  if (!binary) GTEST_SKIP() << "prometheus-node-exporter is not installed (scripts/install-deps.sh)";
  testing::TempDir dir("tocsin-node-exporter");
  const int port = testing::free_port();
  testing::ProcessOptions options;
  options.stdout_file = dir / "stdout";
  options.stderr_file = dir / "stderr";
  testing::Process exporter({*binary, "--web.listen-address=127.0.0.1:" + std::to_string(port)}, options);
  ASSERT_TRUE(testing::wait_until([&] { return testing::port_open(port); }, std::chrono::seconds(20)));
  const auto reply = testing::http_get(port, "/metrics");
  ASSERT_EQ(reply.status, 200);
  const Families ours = tocsin_families();
  const Families theirs = parse_exposition(testing::decoded_body(reply));  // node_exporter streams it
  ASSERT_GT(theirs.size(), 200u);
  const double share = compare(theirs, ours, true, "live node_exporter");
  EXPECT_GE(share, 0.95);
  // The same series (label values) in every family, and the same values where they do not move
  // between the two reads.
  for (const auto& [name, family] : theirs) {
    if (exporter_self(name) || !ours.contains(name)) continue;
    std::set<std::string> a, b;
    for (const auto& [k, v] : family.series) a.insert(k);
    for (const auto& [k, v] : ours.at(name).series) b.insert(k);
    EXPECT_EQ(b, a) << "series of " << name;
  }
  for (const char* name : {"node_network_mtu_bytes",
                           "node_network_info",
                           "node_network_up",
                           "node_network_flags",
                           "node_network_iface_id",
                           "node_network_protocol_type",
                           "node_network_speed_bytes",
                           "node_network_transmit_queue_length",
                           "node_disk_info",
                           "node_os_info",
                           "node_os_version",
                           "node_uname_info",
                           "node_filefd_maximum",
                           "node_entropy_pool_size_bits",
                           "node_nf_conntrack_entries_limit",
                           "node_time_clocksource_current_info",
                           "node_time_zone_offset_seconds",
                           "node_filesystem_size_bytes",
                           "node_filesystem_readonly",
                           "node_filesystem_files",
                           "node_memory_MemTotal_bytes",
                           "node_boot_time_seconds",
                           "node_selinux_enabled",
                           "node_timex_tick_seconds",
                           "node_sockstat_TCP_mem_bytes"}) {
    if (!theirs.contains(name)) continue;
    for (const auto& [k, v] : theirs.at(name).series) {
      auto it = ours.at(name).series.find(k);
      if (it == ours.at(name).series.end()) continue;  // reported above
      if (std::string_view(name) == "node_boot_time_seconds" ||
          std::string_view(name) == "node_sockstat_TCP_mem_bytes") {
        EXPECT_NEAR(it->second, v, v * 0.5)
            << name << "{" << k << "}";  // btime jitters by a second; mem moves
      } else {
        EXPECT_EQ(it->second, v) << name << "{" << k << "}";
      }
    }
  }
}

}  // namespace
}  // namespace tocsin::collectors
