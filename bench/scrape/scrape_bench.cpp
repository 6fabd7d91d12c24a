// The scrape collector's cost beside Prometheus 2.42's, on the same payload in the same run: a
// 10,000-series text exposition shaped like a busy Rails app's (http_request_duration_seconds
// histograms over 200 routes, three statuses, 12 buckets; request counters; a few gauges), served
// from loopback.
//
//   tocsin, parse + commit  the pure path: the exposition parsed, labels merged, committed to a
//                           store::Store (CPU of the thread, per scrape, median of N)
//   tocsin, collect()       the collector over HTTP: request, parse, merge, batch (CPU of the process)
//   Prometheus 2.42         /usr/bin/prometheus scraping the payload every second: the mean of its
//                           own scrape_duration_seconds, and its CPU per scrape (utime+stime from
//                           /proc over a window, less the same window with a one-series payload)
//
//   bench_scrape [--series N] [--cycles N] [--window SECONDS] [--prometheus PATH]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collectors/scrape/pipeline.hpp"
#include "collectors/scrape/scrape.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/net/http_client.hpp"
#include "tocsin/store/store.hpp"

namespace {

using namespace std::chrono_literals;

double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
// utime + stime of another process, in seconds.
double cpu_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string exposition(int series) {
  static const char* statuses[] = {"200", "422", "500"};
  static const char* buckets[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                  "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  std::string out;
  out += "# HELP http_request_duration_seconds Time spent answering HTTP requests.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  int n = 0;
  int route = 0;
  std::string counters =
      "# HELP http_requests_total Requests answered.\n# TYPE http_requests_total counter\n";
  while (n + 15 <= series - 10) {  // 14 histogram series and a counter per route and status
    const std::string path =
        "/api/v1/resource_" + std::to_string(route / 4) + "/action_" + std::to_string(route % 4);
    const char* method = route % 3 == 0 ? "POST" : "GET";
    for (const char* status : statuses) {
      if (n + 15 > series - 10) break;
      const std::string labels = "controller=\"resource_" + std::to_string(route / 4) +
                                 "\",action=\"action_" + std::to_string(route % 4) + "\",method=\"" + method +
                                 "\",path=\"" + path + "\",status=\"" + status + "\"";
      double cumulative = 0;
      for (int b = 0; b < 12; ++b) {
        cumulative += 1000.0 / (b + 1);
        out += "http_request_duration_seconds_bucket{" + labels + ",le=\"" + buckets[b] + "\"} " +
               std::to_string(static_cast<long>(cumulative)) + "\n";
      }
      out += "http_request_duration_seconds_sum{" + labels + "} 1234.5678\n";
      out += "http_request_duration_seconds_count{" + labels + "} " +
             std::to_string(static_cast<long>(cumulative)) + "\n";
      counters +=
          "http_requests_total{" + labels + "} " + std::to_string(static_cast<long>(cumulative)) + "\n";
      n += 14;  // 12 buckets, _sum, _count
      ++n;      // the counter
    }
    ++route;
  }
  out += counters;
  out += "# TYPE process_resident_memory_bytes gauge\n";
  for (; n < series; ++n) out += "app_gauge_" + std::to_string(n) + " 42\n";
  return out;
}

// Serves `body` for every request, one thread per connection, until destroyed.
class PayloadServer {
 public:
  explicit PayloadServer(std::string body) : body_(std::move(body)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([this, c] {
          char buf[8192];
          std::string req;
          while (req.find("\r\n\r\n") == std::string::npos) {
            const ssize_t r = ::read(c, buf, sizeof buf);
            if (r <= 0) break;
            req.append(buf, static_cast<std::size_t>(r));
          }
          std::string body;
          {
            std::lock_guard lock(mutex_);
            body = body_;
          }
          const std::string head =
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
          std::string all = head + body;
          for (std::size_t sent = 0; sent < all.size();) {
            const ssize_t w = ::send(c, all.data() + sent, all.size() - sent, MSG_NOSIGNAL);
            if (w <= 0) break;
            sent += static_cast<std::size_t>(w);
          }
          ::close(c);
        }).detach();
      }
    });
  }
  ~PayloadServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  void set(std::string body) {
    std::lock_guard lock(mutex_);
    body_ = std::move(body);
  }
  int port() const { return port_; }

 private:
  std::mutex mutex_;
  std::string body_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// GET http://127.0.0.1:port/target through a plain socket, HTTP/1.0 (no chunking).
std::string http_get(int port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fd);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

double query_scalar(int port, const std::string& encoded) {
  auto j = nlohmann::json::parse(http_get(port, "/api/v1/query?query=" + encoded), nullptr, false);
  if (j.is_discarded() || j["data"]["result"].empty()) return -1;
  return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
}

struct PromFigures {
  double scrape_duration_ms = -1;
  double cpu_ms_per_scrape = -1;  // less the idle baseline
  double scrapes = 0;
};

// Runs Prometheus scraping the payload server every second; measures `window` after a warm-up.
std::optional<PromFigures> measure_prometheus(const std::string& binary, PayloadServer& server,
                                              const std::string& payload, int window) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("tocsin-bench-scrape-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream cfg(dir / "prometheus.yml");
    cfg << "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n  - job_name: bench\n"
           "    static_configs: [{targets: ['127.0.0.1:"
        << server.port() << "']}]\n";
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
    ::execl(binary.c_str(), binary.c_str(), config.c_str(), storage.c_str(), listen.c_str(), nullptr);
    ::_exit(127);
  }
  std::optional<PromFigures> out;
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    std::this_thread::sleep_for(100ms);
    ready = query_scalar(port, "up") == 1;
  }
  if (ready) {
    auto run_window = [&](const std::string& body) {
      server.set(body);
      std::this_thread::sleep_for(5s);  // warm: the head has the series, the caches are filled
      const double cpu_before = cpu_of(pid);
      std::this_thread::sleep_for(std::chrono::seconds(window));
      const double cpu_after = cpu_of(pid);
      // Scrapes in the window: the points of `up` it stored.
      const double scrapes = query_scalar(
          port, "count_over_time(up%7Bjob%3D%22bench%22%7D%5B" + std::to_string(window) + "s%5D)");
      return std::pair{cpu_after - cpu_before, scrapes};
    };
    auto [idle_cpu, idle_scrapes] = run_window("up_only 1\n");
    auto [cpu, scrapes] = run_window(payload);
    PromFigures f;
    f.scrapes = scrapes;
    const double idle_per_second = idle_cpu / window;
    if (scrapes > 0) f.cpu_ms_per_scrape = (cpu - idle_per_second * window) / scrapes * 1000;
    f.scrape_duration_ms =
        query_scalar(port, "avg_over_time(scrape_duration_seconds%7Bjob%3D%22bench%22%7D%5B" +
                               std::to_string(window) + "s%5D)") *
        1000;
    (void)idle_scrapes;
    out = f;
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 10000;
  int cycles = 200;
  int window = 20;
  int pure_cycles = -1;  // default: --cycles
  std::string prometheus = "/usr/bin/prometheus";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--series") == 0) series = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--cycles") == 0) cycles = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--window") == 0) window = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--prometheus") == 0) prometheus = argv[i + 1];
    if (std::strcmp(argv[i], "--pure-cycles") == 0) pure_cycles = std::atoi(argv[i + 1]);
  }
  const std::string body = exposition(series);
  using namespace tocsin;
  using namespace tocsin::collectors;

  // 1. The pure path: parse + merge + commit into a real store.
  ManualClock clock(1'700'000'000'000);
  store::Store store({}, clock);
  const auto writer = store.register_writer("scrape/bench", 15s);
  const Labels target{{"instance", "127.0.0.1:8000"}, {"job", "app"}};
  scrape::SeriesSet previous, current;
  scrape::SeriesCache cache;
  std::vector<double> parse_ms, commit_ms;
  std::size_t samples = 0, scraped = 0, duplicates = 0;
  if (pure_cycles < 0) pure_cycles = cycles;
  for (int i = 0; i < std::max(1, pure_cycles); ++i) {
    store::Batch batch;
    const double t0 = thread_cpu();
    auto r = scrape::append_exposition_cached(body, scrape::Format::text, target, {}, previous, current,
                                              cache, batch);
    const double t1 = thread_cpu();
    store.commit(writer, batch, 1'700'000'000'000 + i * 15'000);
    const double t2 = thread_cpu();
    std::swap(previous, current);
    parse_ms.push_back((t1 - t0) * 1000);
    commit_ms.push_back((t2 - t1) * 1000);
    samples = r.kept;
    scraped = r.scraped;
    duplicates = r.duplicates;
  }
  std::vector<double> lex_ms;
  for (int i = 0; i < std::max(1, pure_cycles); ++i) {
    const double t0 = thread_cpu();
    scrape::ExpositionParser parser(body, scrape::Format::text);
    scrape::Entry e;
    std::size_t n = 0;
    while (parser.next(e)) n += e.labels.size();
    lex_ms.push_back((thread_cpu() - t0) * 1000);
    if (n == 0) std::printf("?");
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::vector<double> total_ms(parse_ms.size());
  for (std::size_t i = 0; i < total_ms.size(); ++i) total_ms[i] = parse_ms[i] + commit_ms[i];

  // 2. The collector over HTTP.
  PayloadServer server(body);
  config::ScrapeCollectorConfig config;
  config.common.name = config.job_name = "bench";
  config.static_configs.push_back({{"127.0.0.1:" + std::to_string(server.port())}, {}});
  config.effective_interval = 15s;
  config.effective_timeout = 10s;
  auto collector = make_scrape_collector(
      config, std::make_shared<spdlog::logger>("s", std::make_shared<spdlog::sinks::null_sink_mt>()));
  // The collector runs a single target's scrape on the calling thread: its CPU is this thread's (the
  // payload server's threads are not counted). The commit is the scheduler's, timed beside it.
  const auto writer2 = store.register_writer("scrape/bench-http", 15s);
  std::vector<double> collect_cpu, collect_wall, collect_commit_cpu;
  for (int i = 0; i < std::max(10, cycles / 2); ++i) {
    store::Batch batch;
    const double c0 = thread_cpu();
    const auto w0 = std::chrono::steady_clock::now();
    collector->collect({.timestamp = 0, .deadline = std::chrono::steady_clock::now() + 10s}, batch);
    collect_wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w0).count());
    const double c1 = thread_cpu();
    store.commit(writer2, batch, 1'700'000'000'000 + i * 15'000);
    collect_cpu.push_back((c1 - c0) * 1000);
    collect_commit_cpu.push_back((thread_cpu() - c0) * 1000);
  }

  std::vector<double> get_cpu;
  {
    net::HttpClient client;
    net::HttpRequest request;
    request.method = "GET";
    request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/metrics";
    request.max_body_bytes = 64u << 20;
    for (int i = 0; i < std::max(10, cycles / 2); ++i) {
      const double c0 = thread_cpu();
      auto r = client.send(request);
      get_cpu.push_back((thread_cpu() - c0) * 1000);
      if (r.body.size() != body.size()) std::printf("short body: %s\n", r.error.c_str());
    }
  }

  std::printf("exposition: %d series, %zu bytes (text format 0.0.4), %d cycles\n\n", series, body.size(),
              cycles);
  std::printf("%-44s %12s %12s\n", "per scrape", "CPU ms", "wall ms");
  std::printf("%-44s %12.2f %12s\n", "tocsin: parse alone (views, no labels built)", median(lex_ms), "-");
  std::printf("%-44s %12.2f %12s\n", "tocsin: parse + labels (pipeline, cached)", median(parse_ms), "-");
  std::printf("%-44s %12.2f %12s\n", "tocsin: store commit", median(commit_ms), "-");
  std::printf("%-44s %12.2f %12s\n", "tocsin: parse + commit", median(total_ms), "-");
  std::printf("%-44s %12.2f %12s\n", "tocsin: the HTTP GET alone (tocsin_net)", median(get_cpu), "-");
  std::printf("%-44s %12.2f %12.2f\n", "tocsin: collect() over HTTP", median(collect_cpu),
              median(collect_wall));
  std::printf("%-44s %12.2f %12s\n", "tocsin: collect() over HTTP + commit", median(collect_commit_cpu), "-");
  std::optional<PromFigures> prom;
  if (std::filesystem::exists(prometheus)) prom = measure_prometheus(prometheus, server, body, window);
  if (prom) {
    std::printf("%-44s %12.2f %12.2f\n", "Prometheus 2.42 (CPU over idle; scrape_duration)",
                prom->cpu_ms_per_scrape, prom->scrape_duration_ms);
    std::printf("  (%g scrapes in the %d s window)\n", prom->scrapes, window);
  } else {
    std::printf("%-44s not measured (%s not found or did not start)\n", "Prometheus 2.42",
                prometheus.c_str());
  }
  std::printf("\nsamples per scrape: %zu (scraped %zu, duplicates %zu)\n", samples, scraped, duplicates);
  std::printf("target: under 10 ms per 10,000 series on one core: %s; less CPU than Prometheus: %s\n",
              median(total_ms) < 10.0 * series / 10000 ? "yes" : "NO",
              prom ? (median(collect_commit_cpu) < prom->cpu_ms_per_scrape ? "yes" : "NO") : "n/a");
  return 0;
}
