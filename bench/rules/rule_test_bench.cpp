// `tocsin test` beside `promtool test rules` on the same rule-test file, in one run: 3,400 input series
// over 1 h at 15 s, rules of the usual shapes (rates summed by a label, error ratios, quantiles over
// histograms), one alert test at 60 m. Two files: 400 recording rules, and a single one. Prints each
// tool's CPU (user + sys of the process, from wait4) and wall time; both must pass their tests.
//
//   bench_rule_test [--tocsin PATH] [--promtool PATH] [--rules N] [--keep DIR]
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr int kInstances = 34;
constexpr int kPaths = 50;  // x 2 codes x 34 instances = 3,400 series

struct Run {
  int status = -1;
  double cpu_s = 0;
  double wall_s = 0;
};

Run run(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  Run out;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) return out;
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
              static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&actions);
  return out;
}

// The rules: four shapes over the 50 paths, cycled; `count` of them.
std::string rules_file(int count) {
  std::string out = "groups:\n  - name: bench\n    interval: 15s\n    rules:\n";
  for (int i = 0; i < count; ++i) {
    const std::string path = "/p" + std::to_string(i % kPaths);
    switch (i % 4) {
      case 0:
        out += "      - record: path:http_requests:rate5m_" + std::to_string(i) +
               "\n        expr: sum by (job, path) (rate(http_requests_total{path=\"" + path + "\"}[5m]))\n";
        break;
      case 1:
        out += "      - record: path:http_errors:ratio5m_" + std::to_string(i) +
               "\n        expr: sum(rate(http_requests_total{code=\"500\",path=\"" + path +
               "\"}[5m])) / sum(rate(http_requests_total{path=\"" + path + "\"}[5m]))\n";
        break;
      case 2:
        out += "      - record: instance:http_requests:increase1h_" + std::to_string(i) +
               "\n        expr: sum by (instance) (increase(http_requests_total{path=\"" + path +
               "\"}[1h]))\n";
        break;
      default:
        out += "      - record: path:http_requests:max_over_time_" + std::to_string(i) +
               "\n        expr: max by (path) (max_over_time(http_requests_total{path=\"" + path +
               "\"}[10m]))\n";
        break;
    }
  }
  out +=
      "  - name: alerts\n    rules:\n      - alert: HighErrorRatio\n"
      "        expr: sum(rate(http_requests_total{code=\"500\"}[5m])) / sum(rate(http_requests_total[5m])) > "
      "0.9\n"
      "        for: 5m\n";
  return out;
}

std::string test_file(const std::string& rules) {
  std::string out =
      "rule_files: [" + rules + "]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n";
  for (int i = 0; i < kInstances; ++i) {
    for (int p = 0; p < kPaths; ++p) {
      for (const char* code : {"200", "500"}) {
        out += "      - series: 'http_requests_total{job=\"api\",instance=\"i" + std::to_string(i) +
               "\",path=\"/p" + std::to_string(p) + "\",code=\"" + code + "\"}'\n        values: '0+" +
               (std::string(code) == "200" ? "30" : "1") + "x240'\n";
      }
    }
  }
  out +=
      "    alert_rule_test:\n      - eval_time: 60m\n        alertname: HighErrorRatio\n        exp_alerts: "
      "[]\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tocsin = TOCSIN_EXECUTABLE;
  std::string promtool = "/usr/bin/promtool";
  int rules = 400;
  std::optional<fs::path> keep;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tocsin" && i + 1 < argc) {
      tocsin = argv[++i];
    } else if (arg == "--promtool" && i + 1 < argc) {
      promtool = argv[++i];
    } else if (arg == "--rules" && i + 1 < argc) {
      rules = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: bench_rule_test [--tocsin PATH] [--promtool PATH] [--rules N] [--keep DIR]\n");
      return 2;
    }
  }
  const fs::path dir =
      keep ? *keep : fs::temp_directory_path() / ("tocsin-bench-rule-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::printf("rule tests: %d input series over 1 h at 15 s, one alert test at 60 m\n\n",
              kInstances * kPaths * 2);
  std::printf("%-24s %-10s %12s %12s %8s\n", "file", "tool", "CPU s", "wall s", "passed");
  bool all_passed = true;
  for (const int count : {rules, 1}) {
    const std::string name = std::to_string(count) + (count == 1 ? " rule" : " rules");
    const std::string rules_name = "rules-" + std::to_string(count) + ".yaml";
    std::ofstream(dir / rules_name) << rules_file(count);
    std::ofstream(dir / ("test-" + std::to_string(count) + ".yaml")) << test_file(rules_name);
    const std::string test = (dir / ("test-" + std::to_string(count) + ".yaml")).string();
    const Run ours = run({tocsin, "test", test}, dir / ("tocsin-" + std::to_string(count) + ".log"));
    Run theirs;
    const bool have_promtool = fs::exists(promtool);
    if (have_promtool)
      theirs = run({promtool, "test", "rules", test}, dir / ("promtool-" + std::to_string(count) + ".log"));
    std::printf("%-24s %-10s %12.2f %12.2f %8s\n", name.c_str(), "tocsin", ours.cpu_s, ours.wall_s,
                ours.status == 0 ? "yes" : "NO");
    if (have_promtool) {
      std::printf("%-24s %-10s %12.2f %12.2f %8s   tocsin/promtool CPU %.2f\n", name.c_str(), "promtool",
                  theirs.cpu_s, theirs.wall_s, theirs.status == 0 ? "yes" : "NO", ours.cpu_s / theirs.cpu_s);
    } else {
      std::printf("%-24s %-10s not measured (%s not found)\n", name.c_str(), "promtool", promtool.c_str());
    }
    all_passed = all_passed && ours.status == 0 && (!have_promtool || theirs.status == 0);
  }
  std::printf("\ntarget (issue 13): tocsin's time at most promtool's on both files%s%s\n",
              keep ? "; files and logs in " : "", keep ? dir.c_str() : "");
  if (!keep) fs::remove_all(dir);
  return all_passed ? 0 : 1;
}
