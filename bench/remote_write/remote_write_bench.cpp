// remote_write's cost beside Prometheus's own sender, measured in one run on the same series: a static
// exposition of N series (python3 -m http.server) scraped every second by three processes,
//   tocsin A: the scrape collector and remote_write to the receiver,
//   tocsin B: the same scrape collector, no remote_write (A - B is what remote_write costs tocsin),
//   Prometheus 2.42 in agent mode (--enable-feature=agent): the same scrape and remote_write,
// both senders writing to one Prometheus 2.42 receiver (--web.enable-remote-write-receiver), told
// apart by an external label. Each process's CPU (utime + stime) and samples sent over the window
// (prometheus_remote_storage_samples_total, _bytes_total on each /metrics) give CPU and bytes per
// sample.
//
//   bench_remote_write [--series N] [--seconds S]
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/process.hpp"
#include "tocsin/net/http_client.hpp"

namespace {

using namespace std::chrono_literals;
using tocsin::testing::Process;
using tocsin::testing::ProcessOptions;
using tocsin::testing::TempDir;

std::string get(int port, const std::string& target) {
  tocsin::net::HttpClient client;
  tocsin::net::HttpRequest r;
  r.method = "GET";
  r.url = "http://127.0.0.1:" + std::to_string(port) + target;
  r.max_body_bytes = 64u << 20;
  auto response = client.send(r);
  return response.status == 200 ? response.body : "";
}

// The sum of a metric's values on a /metrics page (every label set), -1 when absent.
double metric_sum(const std::string& page, const std::string& name) {
  std::regex re("(^|\\n)" + name + "(\\{[^}]*\\})? ([^\\n ]+)");
  double sum = -1;
  for (auto it = std::sregex_iterator(page.begin(), page.end(), re); it != std::sregex_iterator(); ++it) {
    sum = (sum < 0 ? 0 : sum) + std::stod((*it)[3]);
  }
  return sum;
}

struct Reading {
  double cpu = 0;
  double samples = 0;
  double bytes = 0;
};

Reading read(pid_t pid, int port) {
  const std::string page = get(port, "/metrics");
  return {tocsin::testing::process_cpu_seconds(pid),
          metric_sum(page, "prometheus_remote_storage_samples_total"),
          metric_sum(page, "prometheus_remote_storage_bytes_total")};
}

ProcessOptions logs_to(const TempDir& dir, const std::string& name) {
  ProcessOptions o;
  o.stdout_file = dir / (name + ".log");
  o.stderr_file = dir / (name + ".log");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 10000;
  int seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--series") == 0) series = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
  }
  auto prometheus = tocsin::testing::find_executable("prometheus");
  auto python = tocsin::testing::find_executable("python3");
  if (!prometheus || !python) {
    std::printf("needs prometheus (2.42) and python3 on PATH\n");
    return 1;
  }
  TempDir dir("tocsin-bench-rw");
  {
    std::filesystem::create_directories(dir / "www");
    std::ofstream out(dir / "www" / "metrics");
    out << "# HELP bench_value A value.\n# TYPE bench_value gauge\n";
    for (int i = 0; i < series; ++i) {
      out << "bench_value{shard=\"" << i % 100 << "\",series=\"s" << i << "\",path=\"/api/v1/item/" << i
          << "\"} " << (i * 7919 % 100003) / 7.0 << "\n";
    }
  }
  const int web = tocsin::testing::free_port();
  Process www({*python, "-m", "http.server", std::to_string(web), "--bind", "127.0.0.1", "--directory",
               (dir / "www").string()},
              logs_to(dir, "www"));
  const int receiver_port = tocsin::testing::free_port();
  dir.write("receiver.yml", "global: {}\n");
  Process receiver({*prometheus, "--config.file=" + (dir / "receiver.yml").string(),
                    "--storage.tsdb.path=" + (dir / "receiver").string(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(receiver_port),
                    "--web.enable-remote-write-receiver"},
                   logs_to(dir, "receiver"));
  const std::string write_url = "http://127.0.0.1:" + std::to_string(receiver_port) + "/api/v1/write";
  const std::string target = "127.0.0.1:" + std::to_string(web);

  auto tocsin_config = [&](const std::string& name, int port, bool remote_write) {
    std::string text = "listen: 127.0.0.1:" + std::to_string(port) + "\nstate_dir: " + (dir / name).string() +
                       "\ninterval: 1s\nlabels: {sender: " + name +
                       "}\ncollectors:\n  scrape:\n    - job_name: bench\n      scrape_timeout: 1s\n"
                       "      static_configs: [{targets: ['" +
                       target + "']}]\n";
    if (remote_write) text += "remote_write:\n  - url: " + write_url + "\n";
    return dir.write(name + ".yaml", text).string();
  };
  const int a_port = tocsin::testing::free_port();
  const int b_port = tocsin::testing::free_port();
  const int agent_port = tocsin::testing::free_port();
  Process a({TOCSIN_EXECUTABLE, "run", "--config", tocsin_config("tocsin-rw", a_port, true)},
            logs_to(dir, "a"));
  Process b({TOCSIN_EXECUTABLE, "run", "--config", tocsin_config("tocsin-plain", b_port, false)},
            logs_to(dir, "b"));
  dir.write("agent.yml",
            "global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {sender: agent}}\n"
            "scrape_configs:\n  - job_name: bench\n    static_configs: [{targets: ['" +
                target + "']}]\nremote_write:\n  - url: " + write_url + "\n");
  Process agent({*prometheus, "--enable-feature=agent", "--config.file=" + (dir / "agent.yml").string(),
                 "--storage.agent.path=" + (dir / "agent").string(),
                 "--web.listen-address=127.0.0.1:" + std::to_string(agent_port)},
                logs_to(dir, "agent"));

  // Warm-up: every sender has sent, the first cycles' series creation is behind.
  const bool started = tocsin::testing::wait_until(
      [&] {
        return read(a.pid(), a_port).samples > 3.0 * series &&
               read(agent.pid(), agent_port).samples > 3.0 * series && !get(b_port, "/-/ready").empty();
      },
      60s);
  if (!started) {
    std::printf("the senders did not start sending; logs in %s\n", dir.path().c_str());
    return 1;
  }
  std::this_thread::sleep_for(5s);
  const Reading a0 = read(a.pid(), a_port), agent0 = read(agent.pid(), agent_port);
  const double b0 = tocsin::testing::process_cpu_seconds(b.pid());
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  const Reading a1 = read(a.pid(), a_port), agent1 = read(agent.pid(), agent_port);
  const double b1 = tocsin::testing::process_cpu_seconds(b.pid());

  const double a_samples = a1.samples - a0.samples;
  const double agent_samples = agent1.samples - agent0.samples;
  const double a_cpu = a1.cpu - a0.cpu;
  const double b_cpu = b1 - b0;
  const double agent_cpu = agent1.cpu - agent0.cpu;
  auto per10k = [](double cpu, double samples) { return samples > 0 ? cpu * 1000.0 * 10000.0 / samples : 0; };
  std::printf("exposition: %d series scraped every 1 s by each; window %d s; 2 cores shared by all\n\n",
              series, seconds);
  std::printf("%-52s %12s %14s %12s\n", "", "samples/s", "CPU ms/10k", "bytes/sample");
  std::printf("%-52s %12.0f %14.2f %12.2f\n", "tocsin A: scrape + remote_write (whole process)",
              a_samples / seconds, per10k(a_cpu, a_samples),
              a_samples > 0 ? (a1.bytes - a0.bytes) / a_samples : 0);
  std::printf("%-52s %12s %14.2f %12s\n", "tocsin B: the same scrape, no remote_write", "-",
              per10k(b_cpu, a_samples), "-");
  std::printf("%-52s %12s %14.2f %12s\n", "tocsin remote_write alone (A - B)", "-",
              per10k(a_cpu - b_cpu, a_samples), "-");
  std::printf("%-52s %12.0f %14.2f %12.2f\n", "Prometheus 2.42 agent: scrape + remote_write (whole)",
              agent_samples / seconds, per10k(agent_cpu, agent_samples),
              agent_samples > 0 ? (agent1.bytes - agent0.bytes) / agent_samples : 0);
  std::printf("\nCPU per sample, tocsin A / agent: %.2f; less CPU than Prometheus's agent: %s\n",
              per10k(a_cpu, a_samples) / per10k(agent_cpu, agent_samples),
              per10k(a_cpu, a_samples) < per10k(agent_cpu, agent_samples) ? "yes" : "no");
  const std::string failed = "prometheus_remote_storage_samples_failed_total";
  std::printf("failed samples: tocsin %.0f, agent %.0f\n", metric_sum(get(a_port, "/metrics"), failed),
              metric_sum(get(agent_port, "/metrics"), failed));
  return 0;
}
