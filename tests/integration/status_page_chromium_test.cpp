// The status page of a real daemon, rendered by headless Chromium (issue 20, the on-call page):
// screenshots at a desktop's and a phone's size, and the rendered DOM checked for what on-call needs
// first: the host in the title, a humanised value, a pending alert shown as pending, the down collector
// and the failing rule above the alerts, no javascript: link, and "what is slow now" from a real Redis
// (its slow log, a Sidekiq queue's oldest job). Skipped when chromium is not installed.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"
#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

class StatusPageChromium : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = find_executable("chromium");
    if (!chromium_) GTEST_SKIP() << "chromium is not installed";
  }
  // chromium --headless with `args` on the page; its output (stdout and stderr).
  CommandResult chromium(const std::vector<std::string>& args, int port) const {
    ProcessOptions options;
    options.env = {"HOME=" + profile_.path().string()};
    std::vector<std::string> argv = {*chromium_,
                                     "--headless",
                                     "--disable-gpu",
                                     "--no-sandbox",
                                     "--disable-dev-shm-usage",
                                     "--hide-scrollbars",
                                     "--user-data-dir=" + (profile_.path() / "data").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("http://127.0.0.1:" + std::to_string(port) + "/");
    return run_command(argv, options, 90s);
  }

  std::optional<std::string> chromium_;
  TempDir profile_{"tocsin-chromium"};
};

// True when the PNG at `path` is not one colour: its IDAT data compresses a varied image, so a
// blank page's few hundred bytes of deflate are far from a rendered table's.
bool non_blank_png(const std::filesystem::path& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 8 || bytes.substr(1, 3) != "PNG") {
    why = "not a PNG";
    return false;
  }
  // A blank 1280x900 or 390x844 screenshot is under 10 kB; a page with text well over it.
  if (bytes.size() < 10'000) {
    why = "only " + std::to_string(bytes.size()) + " bytes: blank?";
    return false;
  }
  return true;
}

TEST_F(StatusPageChromium, TheOnCallPageRendersAtDesktopAndPhoneSize) {
  const int closed_port = free_port();  // nothing listens: the postgres collector is down
  // A real Redis whose slow log takes every command, and a Sidekiq queue whose oldest job waits.
  RedisServer redis;
  redis.cli({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  redis.cli({"SADD", "queues", "mailers"});
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  redis.cli({"LPUSH", "queue:mailers",
             R"({"queue":"mailers","class":"Mail","args":["secret@example.com"],"enqueued_at":)" +
                 std::to_string(now_s - 754) + "}"});
  Daemon daemon(
      "labels: {host: pager-test-host, env: test}\ninterval: 1s\nevaluation_interval: 1s\n"
      "rule_files: [rules.yaml]\n"
      "collectors:\n  host:\n    - name: host\n      mountpoints: [\"/\"]\n"
      "  postgres:\n    - name: orders-db\n      dsn: \"host=127.0.0.1 port=" +
      std::to_string(closed_port) +
      " dbname=app user=tocsin connect_timeout=1\"\n"
      "  redis:\n    - name: cache\n      address: " +
      redis.address() + "\n  queues:\n    - name: jobs\n      address: " + redis.address() +
      "\n      sidekiq: true\n");
  // The rules go in after start-up (the fixture starts the daemon at once), by a reload.
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  daemon.dir().write("rules.yaml", R"yaml(groups:
  - name: page
    interval: 1s
    rules:
      - alert: MemoryAvailableShown
        expr: node_memory_MemAvailable_bytes > 0
        labels: {severity: warning}
        annotations:
          summary: "available memory is {{ $value | humanize1024 }}B"
          runbook_url: "javascript:alert(1)"
      - alert: LoadWillFireInAnHour
        expr: node_load1 >= 0
        for: 1h
        labels: {severity: critical}
        annotations:
          runbook_url: "https://runbooks.example/load"
      - alert: FailsToEvaluate
        # abs() drops the names: two series with one label set, an evaluation error
        expr: abs({__name__=~"node_load1|node_load5"}) > 0
)yaml");
  ASSERT_EQ(daemon.reload().status, 200) << daemon.log();
  // Both alerts active and the collector seen down.
  ASSERT_TRUE(wait_until(
      [&] {
        redis.cli({"KEYS", "nothing:*"});  // a slow-log entry in every cycle
        const std::string page = daemon.get("/").body;
        return page.find("MemoryAvailableShown") != std::string::npos &&
               page.find("LoadWillFireInAnHour") != std::string::npos &&
               page.find("collector down") != std::string::npos &&
               page.find("rule failing") != std::string::npos &&
               page.find("<code>keys</code>") != std::string::npos &&
               page.find("<td>mailers</td>") != std::string::npos;
      },
      30s))
      << daemon.get("/").body << daemon.log();

  // The security headers still come with it: no script is allowed.
  const HttpResult served = daemon.get("/");
  EXPECT_NE(served.headers.at("content-security-policy").find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(served.headers.at("content-security-policy").find("script-src"), std::string::npos);

  std::filesystem::path out_dir = std::filesystem::path(TOCSIN_BINARY_DIR) / "test-output";
  std::filesystem::create_directories(out_dir);
  for (const auto& [name, size] :
       {std::pair{"status_page_desktop.png", "1280,900"}, std::pair{"status_page_phone.png", "390,844"}}) {
    const std::filesystem::path png = out_dir / name;
    std::filesystem::remove(png);
    CommandResult r =
        chromium({"--window-size=" + std::string(size), "--screenshot=" + png.string()}, daemon.port());
    ASSERT_TRUE(std::filesystem::exists(png)) << r.output;
    std::string why;
    EXPECT_TRUE(non_blank_png(png, why)) << name << ": " << why;
    std::cout << "status page screenshot: " << png.string() << "\n";
  }

  CommandResult dom = chromium({"--window-size=390,844", "--dump-dom"}, daemon.port());
  const std::size_t html_at = dom.output.find("<html");
  ASSERT_NE(html_at, std::string::npos) << dom.output;
  const std::string page = dom.output.substr(html_at);
  EXPECT_NE(page.find("<title>pager-test-host"), std::string::npos) << page;
  EXPECT_NE(page.find("<h1>pager-test-host"), std::string::npos) << page;
  // The firing alert's value by its unit (the expression's _bytes), never a raw float.
  EXPECT_TRUE(std::regex_search(page, std::regex(R"(class="value">[0-9.]+ (KiB|MiB|GiB|TiB)<)"))) << page;
  // The pending alert says when it fires, not "unacknowledged".
  const std::size_t pending = page.find("<b>LoadWillFireInAnHour</b>");
  ASSERT_NE(pending, std::string::npos) << page;
  const std::string pending_row = page.substr(pending, page.find("</tr>", pending) - pending);
  EXPECT_NE(pending_row.find("pending, fires in"), std::string::npos) << pending_row;
  EXPECT_EQ(pending_row.find("unacknowledged"), std::string::npos) << pending_row;
  // The down collector before the alerts.
  const std::size_t down = page.find("collector down");
  ASSERT_NE(down, std::string::npos);
  EXPECT_LT(down, page.find("<h2>Firing</h2>"));
  // And the failing rule, with its group.
  const std::size_t failing = page.find("rule failing</span> group <b>page</b>, rule FailsToEvaluate");
  ASSERT_NE(failing, std::string::npos) << page;
  EXPECT_LT(failing, page.find("<h2>Firing</h2>"));
  EXPECT_NE(page.find("orders-db"), std::string::npos);
  // Links: the https runbook is one, the javascript: one is text.
  EXPECT_EQ(page.find("href=\"javascript:"), std::string::npos) << page;
  EXPECT_NE(page.find("href=\"https://runbooks.example/load\""), std::string::npos) << page;
  // What is slow now: the Redis slow log by command, no arguments; the oldest Sidekiq job's age.
  EXPECT_NE(page.find("id=\"slow-now\""), std::string::npos);
  EXPECT_NE(page.find("<code>keys</code> <span class=\"muted\">(arguments redacted)</span>"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find("nothing:*"), std::string::npos);
  EXPECT_EQ(page.find("secret@example.com"), std::string::npos);
  EXPECT_TRUE(
      std::regex_search(page, std::regex(R"(<td class="nowrap">1[23]m [0-9]+s</td><td>mailers</td>)")))
      << page;
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::testing
