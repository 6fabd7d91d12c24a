// The kubelet collector's CPU cost per cycle: parsing a Summary API document of 200 pods (built from
// the pods of tests/data/kubelet/summary.json, renamed) and converting it into a batch. The HTTPS
// request is not measured: its cost is the kubelet's and the network's. No other exporter reads the
// Summary API the same way here, so there is no peer to run beside it; the kubelet's own
// /metrics/resource and cAdvisor run inside the kubelet.
//
//   bench_kubelet [--pods N] [--cycles N]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/kubelet/summary.hpp"

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string document(int pods) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/kubelet/summary.json");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json source = nlohmann::json::parse(text.str());
  nlohmann::json out = source;
  out["pods"] = nlohmann::json::array();
  const auto& templates = source["pods"];
  for (int i = 0; i < pods; ++i) {
    nlohmann::json pod = templates[static_cast<std::size_t>(i) % templates.size()];
    pod["podRef"]["name"] = pod["podRef"]["name"].get<std::string>() + "-" + std::to_string(i);
    pod["podRef"]["namespace"] = "ns-" + std::to_string(i % 20);
    for (auto& volume : pod["volume"]) {
      if (volume.contains("pvcRef")) volume["pvcRef"]["name"] = "pvc-" + std::to_string(i);
    }
    out["pods"].push_back(std::move(pod));
  }
  return out.dump();  // compact, as the kubelet's json.Marshal writes it
}

}  // namespace

int main(int argc, char** argv) {
  int pods = 200;
  int cycles = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--pods") == 0) pods = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--cycles") == 0) cycles = std::atoi(argv[i + 1]);
  }
  const std::string text = document(pods);
  std::vector<double> wall;
  std::size_t samples = 0;
  const double cpu_start = cpu_seconds();
  for (int c = 0; c < cycles; ++c) {
    tocsin::store::Batch batch;
    const auto start = std::chrono::steady_clock::now();
    tocsin::collectors::kubelet::convert_summary(text, batch);
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    samples = batch.size();
  }
  const double cpu = (cpu_seconds() - cpu_start) / cycles * 1000;
  // The JSON parse alone (nlohmann_json's DOM), to say what the conversion adds.
  const double parse_start = cpu_seconds();
  for (int c = 0; c < cycles; ++c) {
    auto parsed = nlohmann::json::parse(text);
    if (parsed.is_discarded()) return 1;
  }
  const double parse_cpu = (cpu_seconds() - parse_start) / cycles * 1000;
  std::sort(wall.begin(), wall.end());
  std::printf("kubelet summary: %d pods, %.2f MiB of JSON, %zu samples per cycle, %d cycles\n", pods,
              static_cast<double>(text.size()) / (1 << 20), samples, cycles);
  std::printf("parse + convert: median %.2f ms, p99 %.2f ms wall; %.2f ms CPU per cycle\n",
              wall[wall.size() / 2], wall[std::min(wall.size() - 1, wall.size() * 99 / 100)], cpu);
  std::printf("of which the JSON parse alone: %.2f ms CPU\n", parse_cpu);
  std::printf(
      "no peer measured: no exporter here reads the Summary API this way (the kubelet's own\n"
      "/metrics/resource and cAdvisor run inside the kubelet, on its CPU)\n");
  return 0;
}
