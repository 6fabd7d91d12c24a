// The cost of TLS, basic auth and gzip per /metrics scrape: tocsin's HTTP server beside node_exporter 1.5
// (prometheus-node-exporter, Debian 12, whose server is exporter-toolkit's) with the same web config
// (the same certificate and bcrypt hash) and the same body, measured in the same run.
//
//   bench_http [--scrapes N] [--series N]
//
// node_exporter serves a text file of N series (its textfile collector alone); tocsin's server serves
// exactly the bytes node_exporter answered, from memory. A curl client scrapes each over one kept-alive
// connection, as Prometheus does, in four ways: plain HTTP, plain with gzip, TLS with basic auth, and TLS
// with basic auth and gzip. Printed: each server's process CPU per scrape (tocsin's from getrusage of this
// process, whose only work then is the server; node_exporter's from /proc/<pid>/stat), and what each way
// adds over plain HTTP. node_exporter's figures include reading and parsing its text file on every
// scrape; the added cost is the comparable part.
#include <spdlog/sinks/null_sink.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "fixtures/certificates.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"
#include "tocsin/http/server.hpp"
#include "tocsin/http/web_config.hpp"

namespace {

using namespace std::chrono_literals;
using tocsin::testing::TempDir;

constexpr const char* kHash = "$2y$10$/mkYJgsuuGtO6yhiWNGfi.Zb7eCYUDM4U9Dr5qsBTIc2SmRB7Bajq";  // "s3cret"

constexpr int kRuns = 3;  // each figure: the median of three runs

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double self_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Way {
  const char* name;
  bool tls;
  bool gzip;
};
constexpr Way kWays[] = {{"plain HTTP", false, false},
                         {"HTTP + gzip", false, true},
                         {"TLS + basic auth", true, false},
                         {"TLS + basic auth + gzip", true, true}};

// Runs `scrapes` GETs of /metrics through one curl (one kept-alive connection).
void scrape(const TempDir& dir, int port, const Way& way, int scrapes) {
  const std::string url =
      std::string(way.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port) + "/metrics";
  std::string cmd = "curl -sS --fail";
  if (way.gzip) cmd += " --compressed";
  if (way.tls) cmd += " -u alice:s3cret --cacert '" + (dir / "ca.crt").string() + "'";
  for (int i = 0; i < scrapes; ++i) cmd += " " + url;
  cmd += " > /dev/null";
  auto r = tocsin::testing::run_command({"sh", "-c", cmd}, {}, std::chrono::minutes(10));
  if (r.status != 0) {
    std::fprintf(stderr, "bench_http: %s failed: %s\n", way.name, r.output.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int scrapes = 500;
  int series = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--scrapes") == 0) scrapes = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--series") == 0) series = std::atoi(argv[i + 1]);
  }
  auto exporter_path = tocsin::testing::find_executable("prometheus-node-exporter");
  if (!exporter_path) exporter_path = tocsin::testing::find_executable("node_exporter");
  if (!exporter_path || !tocsin::testing::find_executable("curl")) {
    std::fprintf(stderr, "bench_http: needs prometheus-node-exporter and curl\n");
    return 1;
  }
  TempDir dir("tocsin-bench-http");
  if (std::string error = tocsin::testing::make_test_certificates(dir); !error.empty()) {
    std::fprintf(stderr, "bench_http: openssl: %s\n", error.c_str());
    return 1;
  }
  dir.write("web.yml", std::string("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                   "basic_auth_users:\n  alice: ") +
                           kHash + "\n");
  std::string text = "# HELP bench_request_seconds Made up.\n# TYPE bench_request_seconds gauge\n";
  for (int i = 0; i < series; ++i) {
    text += "bench_request_seconds{instance=\"app-" + std::to_string(i % 40) +
            ":8080\",path=\"/api/v1/items/" + std::to_string(i) + "\",method=\"GET\"} " +
            std::to_string(0.001 * i + 0.123456) + "\n";
  }
  std::filesystem::create_directories(dir / "textfile");
  dir.write("textfile/bench.prom", text);

  auto start_exporter = [&](bool web, int port) {
    std::vector<std::string> args = {*exporter_path, "--collector.disable-defaults", "--collector.textfile",
                                     "--collector.textfile.directory=" + (dir / "textfile").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port)};
    if (web) args.push_back("--web.config.file=" + (dir / "web.yml").string());
    tocsin::testing::ProcessOptions options;
    options.stderr_file = dir / "exporter.log";
    return std::make_unique<tocsin::testing::Process>(args, options);
  };

  // The body both serve: node_exporter's own answer.
  std::string body;
  {
    const int port = tocsin::testing::free_port();
    auto exporter = start_exporter(false, port);
    tocsin::testing::wait_until([&] { return tocsin::testing::port_open(port); }, 10s);
    body = tocsin::testing::decoded_body(tocsin::testing::http_get(port, "/metrics"));
  }
  if (body.find("bench_request_seconds") == std::string::npos) {
    std::fprintf(stderr, "bench_http: node_exporter served no text file series\n");
    return 1;
  }

  boost::asio::io_context io;
  boost::asio::thread_pool pool(4);
  tocsin::http::Router router;
  router.add("GET", "/metrics", [&body](const tocsin::http::Request&) {
    return tocsin::http::Response{200, "text/plain; version=0.0.4; charset=utf-8", body, {}};
  });
  tocsin::http::Server server(
      io, pool, router, {},
      std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()));
  server.listen("127.0.0.1", 0);
  std::thread io_thread([&] { io.run(); });
  auto loaded = tocsin::http::load_web_config((dir / "web.yml").string());
  if (auto* d = std::get_if<tocsin::yaml::Diagnostics>(&loaded)) {
    std::fprintf(stderr, "bench_http: %s", d->to_string().c_str());
    return 1;
  }
  auto web =
      std::make_shared<const tocsin::http::WebConfig>(std::get<tocsin::http::WebConfig>(std::move(loaded)));

  std::printf(
      "/metrics of %zu bytes (%d series), %d scrapes per way over one connection, median of %d runs; CPU per "
      "scrape\n\n",
      body.size(), series, scrapes, kRuns);
  std::printf("%-26s %12s %12s %16s %18s %8s\n", "", "tocsin", "node_exp.", "tocsin added", "node_exp. added",
              "ratio");
  double tocsin_plain = 0;
  double exporter_plain = 0;
  for (const Way& way : kWays) {
    server.set_web_config(way.tls ? web : nullptr);
    scrape(dir, server.port(), way, 20);  // warm: the handshake, the bcrypt check (then cached)
    std::vector<double> runs;
    for (int r = 0; r < kRuns; ++r) {
      const double t0 = self_cpu_seconds();
      scrape(dir, server.port(), way, scrapes);
      runs.push_back((self_cpu_seconds() - t0) / scrapes * 1e6);
    }
    const double ours = median(runs);

    const int port = tocsin::testing::free_port();
    auto exporter = start_exporter(way.tls, port);
    tocsin::testing::wait_until([&] { return tocsin::testing::port_open(port); }, 10s);
    scrape(dir, port, way, 20);
    runs.clear();
    for (int r = 0; r < kRuns; ++r) {
      const double e0 = tocsin::testing::process_cpu_seconds(exporter->pid());
      scrape(dir, port, way, scrapes);
      runs.push_back((tocsin::testing::process_cpu_seconds(exporter->pid()) - e0) / scrapes * 1e6);
    }
    const double theirs = median(runs);
    exporter->stop();
    if (!way.tls && !way.gzip) {
      tocsin_plain = ours;
      exporter_plain = theirs;
    }
    const double ours_added = ours - tocsin_plain;
    const double theirs_added = theirs - exporter_plain;
    std::printf("%-26s %9.0f us %9.0f us %13.0f us %15.0f us %8s\n", way.name, ours, theirs, ours_added,
                theirs_added,
                (way.tls || way.gzip) && theirs_added > 0
                    ? (std::to_string(ours_added / theirs_added).substr(0, 4) + "x").c_str()
                    : "");
  }
  std::printf(
      "\n(ratio: what the way adds to tocsin over what it adds to node_exporter; node_exporter's own "
      "figures\n"
      "include reading and parsing its text file each scrape)\n");
  server.stop();
  io.stop();
  io_thread.join();
  pool.join();
  return 0;
}
