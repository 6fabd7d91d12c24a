// HTTP abuse against the real daemon (issue 21, docs/reliability.md, Faults): a thousand connections at
// once from forty addresses, slowloris clients dribbling a header byte a second, oversized headers and
// bodies, all at the same time, while another client keeps reading /metrics, a collector keeps committing
// and a 1 s rule group keeps evaluating. tests/http/web_security_test.cpp tests each limit on its own,
// in process; this is the daemon with its defaults (web.max_connections 256, 32 per client, 5 s for
// headers) under all of them together. Asserts on counts advancing, never on latency.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "faults/harness.hpp"
#include "fixtures/http_client.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing::faults {
namespace {

using namespace std::chrono_literals;

// A connection to 127.0.0.1:port from `from` (any 127/8 address is the loopback's); -1 on failure.
int connect_from(const std::string& from, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` and reads until the server closes or 10 s pass; returns what it answered.
std::string send_and_read(int fd, const std::string& request) {
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

TEST(HttpAbuse, MetricsAndRulesCarryOnUnderFloodsSlowlorisAndOversizedRequests) {
  Daemon d(
      "interval: 1s\nrule_files: [rules.yaml]\n"
      "collectors:\n  host:\n    - name: host\n      mountpoints: [\"/\"]\n");
  d.dir().write("rules.yaml",
                "groups:\n  - name: abuse\n    interval: 1s\n    rules:\n      - record: abuse:tick\n"
                "        expr: vector(1)\n");
  ASSERT_TRUE(d.wait_ready()) << d.log();
  ASSERT_EQ(d.reload().status, 200) << d.log();
  auto m = [&] { return d.get("/metrics").body; };
  auto evaluations = [&] { return metric(m(), "tocsin_rule_evaluations_total").value_or(-1); };
  auto host_success = [&] {
    return metric(m(), "tocsin_collector_last_success_timestamp_seconds", {{"target", "host"}}).value_or(0);
  };
  ASSERT_TRUE(wait_until([&] { return evaluations() >= 1; }, 20s)) << m();
  const long rss_before = rss_kib(d.process().pid());
  const double evaluations_before = evaluations();
  const double host_before = host_success();

  std::atomic<bool> stop{false};
  std::atomic<int> slowloris_cut{0}, oversized_header_431{0}, oversized_body_413{0};
  std::vector<std::thread> attackers;
  // 1,000 connections from 40 addresses, held open (each sends half a request line).
  std::vector<int> flood;
  std::mutex flood_mutex;
  for (int a = 0; a < 4; ++a) {
    attackers.emplace_back([&, a] {
      for (int i = a * 250; i < (a + 1) * 250; ++i) {
        const int fd = connect_from("127.0.1." + std::to_string(1 + i % 40), d.port());
        if (fd < 0) continue;
        ::send(fd, "GET /metr", 9, MSG_NOSIGNAL);
        std::lock_guard lock(flood_mutex);
        flood.push_back(fd);
      }
    });
  }
  // 20 slowloris clients: a header byte a second until the server cuts them.
  for (int s = 0; s < 20; ++s) {
    attackers.emplace_back([&, s] {
      const int fd = connect_from("127.0.2." + std::to_string(1 + s), d.port());
      if (fd < 0) return;
      ::send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
      for (int i = 0; i < 60 && !stop; ++i) {
        if (::send(fd, "X", 1, MSG_NOSIGNAL) != 1) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) > 0) {
          char c;
          if (::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) {
            ++slowloris_cut;
            break;
          }
        }
      }
      ::close(fd);
    });
  }
  // Oversized headers (64 KiB) and bodies (declared 8 MiB, sent in part), over and over.
  attackers.emplace_back([&] {
    for (int i = 0; !stop && i < 50; ++i) {
      const int fd = connect_from("127.0.3.1", d.port());
      if (fd < 0) continue;
      const std::string answer = send_and_read(
          fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
      if (answer.starts_with("HTTP/1.1 431")) ++oversized_header_431;
      ::close(fd);
    }
  });
  attackers.emplace_back([&] {
    for (int i = 0; !stop && i < 50; ++i) {
      const int fd = connect_from("127.0.3.2", d.port());
      if (fd < 0) continue;
      const std::string answer =
          send_and_read(fd, "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n" +
                                std::string(256 * 1024, 'b'));
      if (answer.starts_with("HTTP/1.1 413")) ++oversized_body_413;
      ::close(fd);
    }
  });

  // Meanwhile: /metrics from a client of its own answers, the rule group evaluates, the collector commits.
  int metrics_ok = 0;
  for (int i = 0; i < 15; ++i) {
    const int fd = connect_from("127.0.4.1", d.port());
    if (fd >= 0) {
      const std::string answer =
          send_and_read(fd, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      if (answer.starts_with("HTTP/1.1 200") &&
          answer.find("tocsin_rule_evaluations_total") != std::string::npos)
        ++metrics_ok;
      ::close(fd);
    }
    std::this_thread::sleep_for(500ms);
  }
  const std::string during = m();
  const double evaluations_during = metric(during, "tocsin_rule_evaluations_total").value_or(-1);
  const double host_during =
      metric(during, "tocsin_collector_last_success_timestamp_seconds", {{"target", "host"}}).value_or(0);
  const double open = metric(during, "tocsin_http_connections").value_or(-1);
  const double refused =
      metric(during, "tocsin_http_connections_refused_total", {{"reason", "per_client"}}).value_or(0) +
      metric(during, "tocsin_http_connections_refused_total", {{"reason", "limit"}}).value_or(0) +
      metric(during, "tocsin_http_connections_refused_total", {{"reason", "reserved"}}).value_or(0);
  const long rss_during = rss_kib(d.process().pid());
  stop = true;
  for (auto& t : attackers) t.join();
  {
    std::lock_guard lock(flood_mutex);
    for (int fd : flood) ::close(fd);
  }

  EXPECT_EQ(metrics_ok, 15) << "a client of its own always got /metrics";
  EXPECT_GE(evaluations_during, evaluations_before + 5) << "the 1 s rule group stopped evaluating";
  EXPECT_GE(host_during, host_before + 5) << "the host collector stopped committing";
  EXPECT_LE(open, 256) << during;
  EXPECT_GE(refused, 500) << "the flood was not refused at accept";
  EXPECT_GE(metric(during, "tocsin_http_request_timeouts_total", {{"phase", "header"}}).value_or(0), 1)
      << during;
  EXPECT_GE(slowloris_cut.load(), 1);
  EXPECT_GE(oversized_header_431.load(), 1);
  EXPECT_GE(oversized_body_413.load(), 1);
  EXPECT_LE(rss_during, 2 * rss_before + 64 * 1024) << rss_before << " -> " << rss_during;
  // And afterwards the daemon answers as before.
  EXPECT_TRUE(wait_until([&] { return d.get("/-/ready").status == 200; }, 20s));
  EXPECT_TRUE(d.process().running());

  Row row;
  row.fault = "HTTP: 1,000 connections, 20 slowloris, 64 KiB headers, 8 MiB bodies at once";
  row.survived = d.process().running() && !HasFailure();
  row.note = std::to_string(metrics_ok) + "/15 /metrics answered, rule evaluations +" +
             std::to_string(static_cast<long>(evaluations_during - evaluations_before)) + ", " +
             std::to_string(static_cast<long>(refused)) + " refused at accept, " +
             std::to_string(slowloris_cut.load()) + "/20 slowloris cut";
  record(row);
}

}  // namespace
}  // namespace tocsin::testing::faults
