// 100 availability SLOs with 30-day windows, one evaluation round every 15 s, in tocsin and in
// Prometheus 2.42 running the rules Sloth generates for the same SLOs, in the same run:
//
//   tocsin       the 100 SLO groups evaluated in-process over a store holding 1 h of 15 s samples of the
//                200 request counters (what rate()[5m] needs), each SLO's budget history full (30 days of
//                5-minute buckets): CPU of the thread per round, median of the rounds; the histories'
//                memory.
//   Prometheus   /usr/bin/prometheus with Sloth's rules (recording rules for 5m..3d and the 30-day
//                window, meta recordings, page and ticket alerts: 3 groups per SLO, as Sloth writes
//                them, reproduced from Sloth's examples/_gen output) over a TSDB backfilled (promtool
//                tsdb create-blocks-from openmetrics) with `--days` of the same counters and of
//                slo:sli_error:ratio_rate5m at 15 s: the sum over groups of the last evaluationTime of
//                /api/v1/rules (sampled every round) and its process CPU per round. With fewer than 30
//                days backfilled its [30d] and [3d] windows hold less than they would, so its figure is
//                a lower bound of its cost with 30 days.
//
//   bench_slo [--slos N] [--rounds N] [--days D] [--window SECONDS] [--prometheus PATH] [--promtool PATH]
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"
#include "tocsin/rules/group.hpp"
#include "tocsin/slo/history.hpp"
#include "tocsin/store/store.hpp"

namespace {

using namespace tocsin;
using namespace std::chrono_literals;

constexpr double kOkRate = 10;       // requests a second answered 2xx, per job
constexpr double kErrorRate = 0.01;  // and 5xx: 0.1 %, the budget of a 99.9 % SLO

std::string job(int i) { return "app" + std::to_string(i); }

// Prometheus's HTTP answers, through the test fixtures' client.
std::string http_get(int port, const std::string& target) {
  return tocsin::testing::decoded_body(tocsin::testing::http_get(port, target));
}
using tocsin::testing::free_port;
using tocsin::testing::process_cpu_seconds;
using tocsin::testing::thread_cpu_seconds;

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ---- tocsin ----

std::string tocsin_slos(int n) {
  std::string out = "slos:\n";
  for (int i = 0; i < n; ++i) {
    out += "  - name: slo-" + std::to_string(i) +
           "\n    service: svc\n    objective: 99.9\n    window: 30d\n" +
           "    indicator:\n      ratio:\n        errors: 'sum(rate(http_requests_total{job=\"" + job(i) +
           "\",code=~\"5..\"}[{{.window}}]))'\n        total: 'sum(rate(http_requests_total{job=\"" + job(i) +
           "\"}[{{.window}}]))'\n";
  }
  return out;
}

class StoreOutput final : public rules::RuleOutput {
 public:
  explicit StoreOutput(store::Store& s) : store_(s) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    auto it = writers_.find(key);
    if (it == writers_.end()) it = writers_.emplace(key, store_.register_writer(key, 15s)).first;
    store::Batch b;
    for (const auto& s : samples) b.add(s.labels, s.v);
    store_.commit(it->second, b, t);
  }

 private:
  store::Store& store_;
  std::map<std::string, store::WriterId> writers_;
};

struct TocsinFigures {
  double cpu_ms_per_round = 0;
  double cpu_ms_min = 0, cpu_ms_max = 0;
  std::size_t history_bytes = 0;
  std::size_t series = 0;
  std::size_t store_bytes = 0;
};

TocsinFigures run_tocsin(int slos, int rounds) {
  ManualClock clock(0);
  store::Store store(store::StoreOptions{1h}, clock);
  const store::WriterId counters = store.register_writer("counters", 15s);
  const Timestamp start = 40LL * 86400 * 1000;
  auto commit_counters = [&](Timestamp t) {
    store::Batch b;
    const double s = static_cast<double>(t) / 1000.0;
    for (int i = 0; i < slos; ++i) {
      b.add("http_requests_total", {{"job", job(i)}, {"code", "200"}}, s * kOkRate);
      b.add("http_requests_total", {{"job", job(i)}, {"code", "500"}}, s * kErrorRate);
    }
    store.commit(counters, b, t);
  };
  for (Timestamp t = start - 3600'000; t <= start; t += 15'000) commit_counters(t);

  yaml::Diagnostics d;
  std::vector<rules::GroupDefinition> defs = rules::parse_rule_text(tocsin_slos(slos), "bench.yaml", d);
  if (!d.empty()) {
    std::cerr << d.to_string();
    std::exit(1);
  }
  // 30 days of history (5-minute records at the same rates) for every SLO.
  slo::History full(720h, 5min);
  for (Timestamp t = start - 720LL * 3600'000; t < start; t += 300'000) {
    full.record(t, t + 300'000, {.bad = 300 * kErrorRate, .total = 300 * (kOkRate + kErrorRate)});
  }
  const std::string snapshot = full.serialize();
  std::vector<std::unique_ptr<rules::Group>> groups;
  for (auto& def : defs) {
    groups.push_back(std::make_unique<rules::Group>(std::move(def), 15s));
    for (const auto& v : groups.back()->slos(false)) groups.back()->restore_slo(v.definition->id(), snapshot);
  }
  StoreOutput out(store);
  promql::Engine engine{promql::EngineOptions{}};
  std::vector<double> cpu;
  for (int r = 1; r <= rounds; ++r) {
    const Timestamp t = start + r * 15'000;
    clock.set(t);
    commit_counters(t);
    const double before = thread_cpu_seconds();
    for (auto& g : groups) g->evaluate({engine, store, out, t, {}});
    cpu.push_back((thread_cpu_seconds() - before) * 1000);
  }
  TocsinFigures f;
  f.cpu_ms_per_round = median(cpu);
  f.cpu_ms_min = *std::min_element(cpu.begin(), cpu.end());
  f.cpu_ms_max = *std::max_element(cpu.begin(), cpu.end());
  for (auto& g : groups) {
    for (const auto& v : g->slos(false)) f.history_bytes += v.memory_bytes;
  }
  f.series = store.stats().series;
  f.store_bytes = store.stats().bytes;
  return f;
}

// ---- Prometheus with Sloth's rules ----

std::string sloth_rules(int n) {
  std::ostringstream out;
  out << "groups:\n";
  const char* windows[] = {"5m", "30m", "1h", "2h", "6h", "1d", "3d"};
  for (int i = 0; i < n; ++i) {
    const std::string slo = "slo-" + std::to_string(i);
    const std::string id = "svc-" + slo;
    const std::string sel = "sloth_id=\"" + id + "\", sloth_service=\"svc\", sloth_slo=\"" + slo + "\"";
    auto labels = [&](const std::string& window) {
      std::string l =
          "    labels:\n      sloth_id: " + id + "\n      sloth_service: svc\n      sloth_slo: " + slo + "\n";
      if (!window.empty()) l += "      sloth_window: " + window + "\n";
      return l;
    };
    out << "- name: sloth-slo-sli-recordings-" << id << "\n  rules:\n";
    for (const char* w : windows) {
      out << "  - record: slo:sli_error:ratio_rate" << w << "\n    expr: |\n"
          << "      (sum(rate(http_requests_total{job=\"" << job(i) << "\",code=~\"5..\"}[" << w << "])))\n"
          << "      /\n      (sum(rate(http_requests_total{job=\"" << job(i) << "\"}[" << w << "])))\n"
          << labels(w);
    }
    out << "  - record: slo:sli_error:ratio_rate30d\n    expr: |\n"
        << "      sum_over_time(slo:sli_error:ratio_rate5m{" << sel
        << "}[30d])\n      / ignoring (sloth_window)\n"
        << "      count_over_time(slo:sli_error:ratio_rate5m{" << sel << "}[30d])\n"
        << labels("30d");
    out << "- name: sloth-slo-meta-recordings-" << id << "\n  rules:\n"
        << "  - record: slo:objective:ratio\n    expr: vector(0.9990000000000001)\n"
        << labels("") << "  - record: slo:error_budget:ratio\n    expr: vector(1-0.9990000000000001)\n"
        << labels("") << "  - record: slo:time_period:days\n    expr: vector(30)\n"
        << labels("")
        << "  - record: slo:current_burn_rate:ratio\n    expr: |\n      slo:sli_error:ratio_rate5m{" << sel
        << "}\n      / on(sloth_id, sloth_slo, sloth_service) group_left\n      slo:error_budget:ratio{"
        << sel << "}\n"
        << labels("")
        << "  - record: slo:period_burn_rate:ratio\n    expr: |\n      slo:sli_error:ratio_rate30d{" << sel
        << "}\n      / on(sloth_id, sloth_slo, sloth_service) group_left\n      slo:error_budget:ratio{"
        << sel << "}\n"
        << labels("")
        << "  - record: slo:period_error_budget_remaining:ratio\n    expr: 1 - slo:period_burn_rate:ratio{"
        << sel << "}\n"
        << labels("") << "  - record: sloth_slo_info\n    expr: vector(1)\n"
        << labels("");
    auto alert = [&](const char* a, const char* b, double fa, const char* c, const char* d2, double fc,
                     const char* severity) {
      out << "  - alert: HighErrorRate\n    expr: |\n      (\n"
          << "          max(slo:sli_error:ratio_rate" << a << "{" << sel << "} > (" << fa
          << " * 0.0009999999999999432)) without (sloth_window)\n          and\n"
          << "          max(slo:sli_error:ratio_rate" << b << "{" << sel << "} > (" << fa
          << " * 0.0009999999999999432)) without (sloth_window)\n      )\n      or\n      (\n"
          << "          max(slo:sli_error:ratio_rate" << c << "{" << sel << "} > (" << fc
          << " * 0.0009999999999999432)) without (sloth_window)\n          and\n"
          << "          max(slo:sli_error:ratio_rate" << d2 << "{" << sel << "} > (" << fc
          << " * 0.0009999999999999432)) without (sloth_window)\n      )\n"
          << "    labels:\n      severity: " << severity << "\n      sloth_severity: " << severity << "\n";
    };
    out << "- name: sloth-slo-alerts-" << id << "\n  rules:\n";
    alert("5m", "1h", 14.4, "30m", "6h", 6, "page");
    alert("2h", "1d", 3, "6h", "3d", 1, "ticket");
  }
  return out.str();
}

struct PromFigures {
  double group_ms_per_round = -1;  // the sum of the groups' last evaluationTime, median over samples
  double cpu_ms_per_round = -1;
  double rounds = 0;
  int groups = 0;
  double backfilled_samples = 0;
};

int run(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::optional<PromFigures> run_prometheus(const std::string& prometheus, const std::string& promtool,
                                          int slos, double days, int window) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("tocsin-bench-slo-" + std::to_string(::getpid()));
  fs::create_directories(dir / "data");
  PromFigures f;
  // Backfill: the counters and Sloth's 5m recording, every 15 s, up to 20 minutes from now.
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const long long end = now_s + 20 * 60;
  const long long begin = end - static_cast<long long>(days * 86400);
  {
    std::ofstream om(dir / "backfill.om");
    om << "# TYPE http_requests counter\n";
    for (long long t = begin; t <= end; t += 15) {
      const double s = static_cast<double>(t - begin);
      for (int i = 0; i < slos; ++i) {
        om << "http_requests_total{code=\"200\",job=\"" << job(i) << "\"} " << s * kOkRate << " " << t
           << "\n";
        om << "http_requests_total{code=\"500\",job=\"" << job(i) << "\"} " << s * kErrorRate << " " << t
           << "\n";
        f.backfilled_samples += 2;
      }
    }
    om << "# TYPE slo:sli_error:ratio_rate5m gauge\n";
    for (long long t = begin; t <= end; t += 15) {
      for (int i = 0; i < slos; ++i) {
        om << "slo:sli_error:ratio_rate5m{sloth_id=\"svc-slo-" << i
           << "\",sloth_service=\"svc\",sloth_slo=\"slo-" << i << "\",sloth_window=\"5m\"} "
           << kErrorRate / (kOkRate + kErrorRate) << " " << t << "\n";
        f.backfilled_samples += 1;
      }
    }
    om << "# EOF\n";
  }
  std::cerr << "backfilling " << f.backfilled_samples << " samples with promtool...\n";
  if (run({promtool, "tsdb", "create-blocks-from", "openmetrics", (dir / "backfill.om").string(),
           (dir / "data").string()},
          (dir / "promtool.log").string()) != 0) {
    std::cerr << "promtool failed; see " << (dir / "promtool.log") << "\n";
    return std::nullopt;
  }
  fs::remove(dir / "backfill.om");
  {
    std::ofstream rules(dir / "sloth.yaml");
    rules << sloth_rules(slos);
    std::ofstream cfg(dir / "prometheus.yml");
    cfg << "global: {evaluation_interval: 15s, scrape_interval: 15s}\nrule_files: [sloth.yaml]\n";
  }
  const int port = free_port();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    const std::string config = "--config.file=" + (dir / "prometheus.yml").string();
    const std::string storage = "--storage.tsdb.path=" + (dir / "data").string();
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port);
    const std::string retention = "--storage.tsdb.retention.time=90d";
    ::execl(prometheus.c_str(), prometheus.c_str(), config.c_str(), storage.c_str(), listen.c_str(),
            retention.c_str(), nullptr);
    ::_exit(127);
  }
  std::optional<PromFigures> result;
  auto group_ms = [&]() -> double {
    auto j = nlohmann::json::parse(http_get(port, "/api/v1/rules"), nullptr, false);
    if (j.is_discarded() || !j.contains("data")) return -1;
    double sum = 0;
    int n = 0;
    for (const auto& g : j["data"]["groups"]) {
      sum += g.value("evaluationTime", 0.0);
      ++n;
    }
    f.groups = n;
    return sum * 1000;
  };
  bool ready = false;
  for (int i = 0; i < 600 && !ready; ++i) {
    std::this_thread::sleep_for(100ms);
    ready = http_get(port, "/-/ready").find("Ready") != std::string::npos;
  }
  if (ready) {
    std::this_thread::sleep_for(20s);  // every group evaluated at least once
    const double cpu_before = process_cpu_seconds(pid);
    std::vector<double> samples;
    for (int s = 0; s < window / 15; ++s) {
      std::this_thread::sleep_for(15s);
      samples.push_back(group_ms());
    }
    const double cpu = process_cpu_seconds(pid) - cpu_before;
    f.rounds = static_cast<double>(samples.size());
    f.group_ms_per_round = median(samples);
    f.cpu_ms_per_round = cpu / f.rounds * 1000;
    result = f;
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  fs::remove_all(dir);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  int slos = 100, rounds = 40, window = 120;
  double days = 2;
  std::string prometheus = "/usr/bin/prometheus", promtool = "/usr/bin/promtool";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--slos") == 0) slos = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--days") == 0) days = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--window") == 0) window = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--prometheus") == 0) prometheus = argv[i + 1];
    if (std::strcmp(argv[i], "--promtool") == 0) promtool = argv[i + 1];
  }
  const TocsinFigures t = run_tocsin(slos, rounds);
  std::printf("tocsin: %d SLOs (30-day windows), one round every 15 s\n", slos);
  std::printf("  CPU per round: median %.2f ms (min %.2f, max %.2f) over %d rounds\n", t.cpu_ms_per_round,
              t.cpu_ms_min, t.cpu_ms_max, rounds);
  std::printf("  budget histories: %.1f KB per SLO, %.1f MB for all; raw samples held: 1 h of the counters\n",
              static_cast<double>(t.history_bytes) / slos / 1024,
              static_cast<double>(t.history_bytes) / 1048576);
  std::printf("  store: %zu series, %.1f MB (the counters' hour and the SLOs' own series)\n", t.series,
              static_cast<double>(t.store_bytes) / 1048576);
  std::fflush(stdout);
  if (!std::filesystem::exists(prometheus) || !std::filesystem::exists(promtool)) {
    std::printf("Prometheus: not installed (%s)\n", prometheus.c_str());
    return 0;
  }
  const auto p = run_prometheus(prometheus, promtool, slos, days, window);
  if (!p) {
    std::printf("Prometheus: did not start\n");
    return 1;
  }
  std::printf("Prometheus 2.42 with Sloth's rules: %d groups, %.1f days backfilled (%.2f M samples)\n",
              p->groups, days, p->backfilled_samples / 1e6);
  std::printf("  rule groups' evaluationTime summed per round: median %.1f ms over %.0f rounds\n",
              p->group_ms_per_round, p->rounds);
  std::printf("  process CPU per round: %.1f ms\n", p->cpu_ms_per_round);
  std::printf("ratio tocsin CPU / Prometheus group time: %.3f; / Prometheus CPU: %.3f\n",
              t.cpu_ms_per_round / p->group_ms_per_round, t.cpu_ms_per_round / p->cpu_ms_per_round);
  return 0;
}
