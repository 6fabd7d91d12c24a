// Issue 20's runbooks: every bundled alert (and every SLO alert) links to a page that exists, and the real
// daemon serves those pages at /runbooks, links them from notifications and the status page, and refuses
// names that are not pages.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "fixtures/http_client.hpp"
#include "fixtures/http_receiver.hpp"
#include "integration/daemon_fixture.hpp"
#include "rules/selected_names.hpp"
#include "tocsin/rules/rule_file.hpp"

namespace tocsin::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const fs::path kSource = TOCSIN_SOURCE_DIR;
const fs::path kRunbooks = kSource / "docs/runbooks";

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<rules::GroupDefinition> bundled_groups() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kSource / "rules"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  yaml::Diagnostics diagnostics;
  auto groups = rules::load_rule_files(files, diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics.to_string();
  return groups;
}

// A page worth the link: the alert's name as its title, the sections on-call reads, more than a stub.
void expect_page(const std::string& name, const std::string& where) {
  const fs::path page = kRunbooks / (name + ".md");
  ASSERT_TRUE(fs::is_regular_file(page)) << where << ": no runbook " << page;
  const std::string text = read(page);
  EXPECT_TRUE(text.starts_with("# " + name + "\n")) << page;
  EXPECT_GT(text.size(), 1500u) << page << " is a stub";
  for (const char* section :
       {"## What it means", "## Check first", "## Commands", "## Resolve", "## Escalate"})
    EXPECT_NE(text.find(section), std::string::npos) << page << " has no " << section;
}

// (a) Every alert of every bundled rule file has runbook_url '{{ $externalURL }}/runbooks/<alert>' and a page
// that names every metric its expression selects; every SLO's alerts have pages with a section for the SLO.
TEST(Runbooks, EveryBundledAlertHasARunbookUrlAndAPage) {
  std::set<std::string> alerts;
  std::set<std::string> slo_alerts;
  for (const auto& group : bundled_groups()) {
    for (const auto& rule : group.rules) {
      if (rule.kind != rules::RuleDefinition::Kind::alerting) continue;
      const std::string where = group.file + ": " + rule.name;
      if (rule.slo) {
        std::vector<std::string> names = {rule.slo->alert_name};
        if (rule.slo->exhausted.enabled) names.push_back(rule.slo->exhausted.name);
        for (const auto& name : names) {
          slo_alerts.insert(name);
          expect_page(name, where);
          // The SLO alert's runbook_url ends in #<the SLO's name> (rules/tests/slos_test.yaml checks the
          // value).
          EXPECT_NE(read(kRunbooks / (name + ".md")).find("\n## " + rule.slo->name + "\n"), std::string::npos)
              << name << ".md has no section for SLO " << rule.slo->name;
        }
        continue;
      }
      alerts.insert(rule.name);
      std::string runbook_url;
      for (const auto& [key, text] : rule.annotation_texts)
        if (key == "runbook_url") runbook_url = text;
      EXPECT_EQ(runbook_url, "{{ $externalURL }}/runbooks/" + rule.name) << where;
      expect_page(rule.name, where);
      rules::detail::SelectedNames selected;
      rules::detail::add_selected_names(*rule.expr, selected);
      EXPECT_FALSE(selected.names.empty()) << where;
      const std::string text = read(kRunbooks / (rule.name + ".md"));
      for (const auto& metric : selected.names)
        EXPECT_NE(text.find(metric), std::string::npos) << rule.name << ".md does not quote " << metric;
    }
  }
  EXPECT_EQ(alerts.size(), 49u);
  EXPECT_EQ(slo_alerts, (std::set<std::string>{"SLOErrorBudgetBurn", "SLOErrorBudgetExhausted"}));

  // The index links every page; the procedures exist; every link between pages reaches a page.
  const std::string index = read(kRunbooks / "README.md");
  alerts.insert(slo_alerts.begin(), slo_alerts.end());
  for (const char* procedure : {"investigate-slow-endpoint", "investigate-queue-backlog"}) {
    const std::string text = read(kRunbooks / (std::string(procedure) + ".md"));
    EXPECT_TRUE(text.starts_with("# Investigate ")) << procedure;
    EXPECT_GT(text.size(), 3000u) << procedure;
    EXPECT_NE(text.find("## 1. "), std::string::npos) << procedure << " is not step by step";
    alerts.insert(procedure);
  }
  for (const auto& name : alerts) EXPECT_NE(index.find("(" + name + ".md)"), std::string::npos) << name;
  const std::regex sibling(R"(\]\(([A-Za-z0-9_-]+)\.md(#[a-z0-9_-]+)?\))");
  for (const auto& e : fs::directory_iterator(kRunbooks)) {
    const std::string text = read(e.path());
    for (std::sregex_iterator it(text.begin(), text.end(), sibling), end; it != end; ++it) {
      const fs::path target = kRunbooks / ((*it)[1].str() + ".md");
      EXPECT_TRUE(fs::is_regular_file(target)) << e.path().filename() << " links to " << target;
      if ((*it)[2].matched) {
        // "#api-availability" is the anchor of a heading "## api-availability" there.
        const std::string heading = (*it)[2].str().substr(1);
        EXPECT_NE(read(target).find("## " + heading + "\n"), std::string::npos)
            << e.path().filename() << " links to a missing section " << (*it)[0];
      }
    }
  }
}

// (b) The pages through a real daemon: the index, a page as HTML with the CSP, and names that are not pages.
TEST(Runbooks, TheDaemonServesThePages) {
  Daemon daemon("collectors: {}\nweb: { runbooks_dir: " + kRunbooks.string() + " }\n");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();

  HttpResult index = daemon.get("/runbooks");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_TRUE(index.headers["content-type"].starts_with("text/html")) << index.headers["content-type"];
  for (const char* name : {"HostCpuHigh", "PostgresLockWaits", "WorkerQueueBacklog", "SLOErrorBudgetBurn",
                           "investigate-slow-endpoint", "investigate-queue-backlog"})
    EXPECT_NE(index.body.find(std::string("href=\"/runbooks/") + name + "\""), std::string::npos) << name;

  HttpResult page = daemon.get("/runbooks/PostgresLockWaits");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(page.headers["x-frame-options"], "DENY");
  EXPECT_NE(page.body.find("<h1 id=\"postgreslockwaits\">PostgresLockWaits</h1>"), std::string::npos);
  EXPECT_NE(page.body.find("<code>pg_stat_activity_lock_waiting_sessions</code>"), std::string::npos);
  EXPECT_NE(page.body.find("<pre><code>"), std::string::npos);
  EXPECT_NE(page.body.find("href=\"/runbooks/PostgresIdleInTransaction\""), std::string::npos)
      << "sibling links become /runbooks/<name>";
  EXPECT_EQ(page.body.find("<script"), std::string::npos);
  EXPECT_EQ(daemon.get("/runbooks/PostgresLockWaits.md").status, 200);
  EXPECT_NE(daemon.get("/").body.find("href=\"/runbooks\""), std::string::npos)
      << "the status page links them";

  for (const char* bad :
       {"/runbooks/..%2F..%2F..%2Fetc%2Fpasswd", "/runbooks/%2E%2E", "/runbooks/..", "/runbooks/..%2FREADME",
        "/runbooks/Host%00CpuHigh", "/runbooks/a.b", "/runbooks/%2Fetc%2Fpasswd"}) {
    HttpResult r = daemon.get(bad);
    EXPECT_EQ(r.status, 404) << bad << ": " << r.body;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << bad;
  }
  HttpResult unknown = daemon.get("/runbooks/NoSuchAlert");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no runbook named \"NoSuchAlert\""), std::string::npos) << unknown.body;
}

// Off by default (404 saying how to turn it on), on after a reload, and a directory's odd files refused.
TEST(Runbooks, OffUntilConfiguredAndBoundedPerFile) {
  Daemon daemon("collectors: {}\n");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  HttpResult off = daemon.get("/runbooks/HostCpuHigh");
  EXPECT_EQ(off.status, 404);
  EXPECT_NE(off.body.find("runbooks are off: set web.runbooks_dir"), std::string::npos) << off.body;
  EXPECT_EQ(daemon.get("/runbooks").status, 404);
  EXPECT_EQ(daemon.get("/").body.find("href=\"/runbooks\""), std::string::npos);

  // Relative to the config file's directory, as rule_files are.
  const fs::path dir = daemon.dir().path() / "pages";
  fs::create_directories(dir);
  daemon.dir().write("pages/README.md", "# Our runbooks\n\nStart with [Checkout](Checkout.md).\n");
  daemon.dir().write("pages/Checkout.md",
                     "# Checkout\n\n<script>alert(1)</script> [x](javascript:alert(1))\n");
  daemon.dir().write("pages/Huge.md", std::string((std::size_t(1) << 20) + 1, 'x'));
  ASSERT_EQ(::mkfifo((dir / "Fifo.md").c_str(), 0600), 0);
  daemon.write_config("collectors: {}\nweb: { runbooks_dir: pages }\n");
  ASSERT_EQ(daemon.reload().status, 200) << daemon.log();

  HttpResult index = daemon.get("/runbooks");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_NE(index.body.find("<h1 id=\"our-runbooks\">Our runbooks</h1>"), std::string::npos) << index.body;
  EXPECT_NE(index.body.find("href=\"/runbooks/Checkout\""), std::string::npos);
  HttpResult page = daemon.get("/runbooks/Checkout");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find("<script>alert"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << page.body;
  EXPECT_EQ(page.body.find("href=\"javascript"), std::string::npos) << page.body;
  HttpResult huge = daemon.get("/runbooks/Huge");
  EXPECT_EQ(huge.status, 500);
  EXPECT_NE(huge.body.find("larger than 1 MiB"), std::string::npos) << huge.body;
  HttpResult fifo = daemon.get("/runbooks/Fifo");  // never blocks on the FIFO
  EXPECT_EQ(fifo.status, 500);
  EXPECT_NE(fifo.body.find("not a regular file"), std::string::npos) << fifo.body;
}

// (c) A notification carries the alert's runbook_url, an absolute link to the daemon that answers 200: for an
// alert whose annotation is written as the bundled rules write it, and for an SLO's alerts.
TEST(Runbooks, NotificationsLinkToPagesTheDaemonServes) {
  HttpReceiver hook;
  TempDir rules("tocsin-runbook-rules");
  rules.write("rules.yaml", R"(groups:
  - name: demo
    interval: 1s
    rules:
      - alert: PostgresLockWaits
        expr: vector(12)
        labels: { severity: critical }
        annotations:
          runbook_url: '{{ $externalURL }}/runbooks/PostgresLockWaits'
slos:
  - name: queue-latency
    service: workers
    objective: 99
    window: 1d
    indicator:
      threshold: { expr: 'vector(600)', below: 60 }
    alerting:
      page: { severity: critical }
      ticket: false
      exhausted: false
)");
  Daemon daemon("collectors: {}\nevaluation_interval: 1s\nrule_files: [" +
                (rules.path() / "rules.yaml").string() + "]\nweb: { runbooks_dir: " + kRunbooks.string() +
                " }\nreceivers:\n  hook: { type: webhook, url: \"" + hook.url("/hook") +
                "\" }\nroutes:\n  - { notify: [hook] }\n");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();

  std::map<std::string, std::string> urls;  // alertname -> runbook_url
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& request : hook.requests()) {
          const json body = json::parse(request.body, nullptr, false);
          if (!body.is_object() || !body.contains("alerts")) continue;
          for (const auto& alert : body["alerts"])
            if (alert["annotations"].contains("runbook_url"))
              urls[alert["labels"]["alertname"]] = alert["annotations"]["runbook_url"];
        }
        return urls.size() >= 2;
      },
      30s))
      << daemon.log();
  const std::string base = "http://127.0.0.1:" + std::to_string(daemon.port());
  EXPECT_EQ(urls["PostgresLockWaits"], base + "/runbooks/PostgresLockWaits");
  EXPECT_EQ(urls["SLOErrorBudgetBurn"], base + "/runbooks/SLOErrorBudgetBurn#queue-latency");
  for (const auto& [alertname, url] : urls) {
    ASSERT_TRUE(url.starts_with(base)) << url;
    std::string path = url.substr(base.size());
    std::string anchor;
    if (auto hash = path.find('#'); hash != std::string::npos) {
      anchor = path.substr(hash + 1);
      path.resize(hash);
    }
    HttpResult page = daemon.get(path);
    EXPECT_EQ(page.status, 200) << url << ": " << page.body;
    EXPECT_TRUE(page.headers["content-type"].starts_with("text/html"));
    EXPECT_NE(page.body.find("<h1 id=\"" + lower(alertname) + "\">"), std::string::npos) << url;
    if (!anchor.empty()) {
      EXPECT_NE(page.body.find("id=\"" + anchor + "\""), std::string::npos) << url;
    }
  }
}

}  // namespace
}  // namespace tocsin::testing
