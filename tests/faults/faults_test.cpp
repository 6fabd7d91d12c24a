// Fault injection through the real daemon (issue 21, docs/reliability.md, Faults): one Postgres, one Redis,
// the host collector and a webhook receiver; each case breaks one thing (a target killed, paused, locked or
// out of connections, the receiver failing, slow or down, the daemon SIGKILLed mid-write, its state_dir full,
// read-only or corrupt) and then heals it. Every case asserts the same things:
//   - the other collectors keep their cadence during the fault (their last-success timestamps advance);
//   - the faulted target is reported down (tocsin_collector_up 0, or the query's up metric) and recovers;
//   - the receiver accepts each notification exactly once: Heartbeat (always firing) at steps 1 and 2,
//     TargetDown for the faulted target triggered and resolved (a SIGKILL may add the one in flight);
//   - the state holds all of it: after a restart nothing is notified again and Heartbeat is at step 2;
//   - the RSS after the fault stays within a generous bound of the RSS before it;
//   - the planted password appears in no log line.
// Each case adds its row to the table printed at the end (harness.cpp).

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "faults/harness.hpp"
#include "fixtures/postgres_server.hpp"
#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"

// Each case names only the Scenario fields it sets; the rest keep their defaults (g++ 12 warns about
// designated initializers that leave fields out, even those with default member initializers).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tocsin::testing::faults {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr auto kReceiverTimeout = 1s;

// The postmaster and its children (backends, background workers), from /proc.
std::vector<pid_t> postgres_pids(const PostgresServer& pg) {
  const std::string data = pg.psql("SHOW data_directory");
  std::ifstream pidfile(data + "/postmaster.pid");
  pid_t postmaster = 0;
  pidfile >> postmaster;
  std::vector<pid_t> pids{postmaster};
  std::ifstream children("/proc/" + std::to_string(postmaster) + "/task/" + std::to_string(postmaster) +
                         "/children");
  for (pid_t child; children >> child;) pids.push_back(child);
  return pids;
}

bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
}

pid_t redis_pid(const RedisServer& redis) {
  const std::string info = redis.cli({"INFO", "server"});
  const auto at = info.find("process_id:");
  return at == std::string::npos ? 0 : static_cast<pid_t>(std::stol(info.substr(at + 11)));
}

// A libpq session of the test's own (the superuser), for locks and for using up connections.
class Session {
 public:
  explicit Session(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {}
  ~Session() { PQfinish(conn_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }
  bool exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const bool good = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return good;
  }

 private:
  PGconn* conn_;
};

// A receiver on a port below the ephemeral range (32768-60999 by default): while it is down, the
// daemon's own outgoing connections could otherwise take its port as their source port and keep it.
std::unique_ptr<HttpReceiver> receiver_outside_ephemeral_range() {
  std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 100; ++attempt) {
    try {
      return std::make_unique<HttpReceiver>(20000 + static_cast<int>(random() % 12000));
    } catch (const std::exception&) {
    }
  }
  return std::make_unique<HttpReceiver>();
}

struct Scenario {
  std::string name;
  std::string faulted;  // the target reported down during the fault ("" when none is)
  std::function<void()> inject;
  std::function<void()> heal;
  std::function<void()> during;  // extra checks while the fault holds
  std::chrono::seconds hold{4};
  bool check_cadence = true;    // false when the daemon itself is killed during the fault
  long allowed_duplicates = 0;  // notifications in flight at a SIGKILL
  std::string note;
};

class Faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new PostgresServer();
    pg_->psql("CREATE ROLE tocsin_faults LOGIN PASSWORD '" + std::string(kPlantedPassword) +
              "'; GRANT pg_monitor TO tocsin_faults; CREATE TABLE fault_jobs (id int); "
              "INSERT INTO fault_jobs VALUES (1), (2); GRANT SELECT ON fault_jobs TO tocsin_faults");
    // The fixture runs with synchronous_commit off, so a SIGKILL soon after could lose these commits
    // (their WAL not yet written): the first case kills Postgres within seconds.
    pg_->psql("CHECKPOINT");
    redis_ = new RedisServer(RedisOptions{{}, kPlantedPassword});
  }
  static void TearDownTestSuite() {
    delete pg_;
    delete redis_;
    pg_ = nullptr;
    redis_ = nullptr;
  }

  void SetUp() override {
    redis_->start();  // a case that failed may have left it stopped
    hook_ = receiver_outside_ephemeral_range();
    daemon_ = std::make_unique<Daemon>(config());
    daemon_->dir().write("rules.yaml", R"(groups:
  - name: faults
    interval: 1s
    rules:
      - alert: Heartbeat
        expr: vector(1)
      - alert: TargetDown
        expr: '{__name__=~"pg_up|redis_up"} == 0'  # tocsin_collector_* are /metrics only, not in the store
      - alert: QueryDown
        expr: tocsin_pg_query_up{query="custom:fault_jobs"} == 0
)");
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
    ASSERT_EQ(daemon_->reload().status, 200) << daemon_->log();  // the rule file written after the start
    wait_all_up();
    ASSERT_TRUE(wait_until([&] { return count("triggered Heartbeat - 1") == 1; }, 20s)) << daemon_->log();
  }

  void TearDown() override {
    if (daemon_) logs_ += daemon_->log();
    daemon_.reset();
    if (!mount_.empty()) ::umount2(mount_.c_str(), MNT_DETACH);
  }

  std::string config() const {
    return "interval: 1s\nrule_files: [rules.yaml]\nsnapshot_interval: 1s\n"
           "collectors:\n"
           "  host:\n    - name: host\n      mountpoints: [\"/\"]\n"
           "  postgres:\n    - name: pg\n      dsn: \"" +
           pg_->dsn() + "\"\n      user: tocsin_faults\n      password: " + kPlantedPassword +
           "\n      lock_timeout: 200ms\n      connect_timeout: 2s\n      reconnect_backoff_max: 1s\n"
           "      queries:\n        - prefix: fault_jobs\n          sql: \"SELECT count(*) AS jobs FROM "
           "fault_jobs\"\n"
           "          columns: { jobs: gauge }\n"
           "  redis:\n    - name: cache\n      address: " +
           redis_->address() + "\n      password: " + kPlantedPassword +
           "\n      max_reconnect_backoff: 1s\n"
           "alerting:\n  outbox: { initial_backoff: 100ms, max_backoff: 500ms }\n"
           "receivers:\n  hook: { type: webhook, url: \"" +
           hook_->url("/hook") +
           "\", timeout: 1s }\n"
           "escalation_policies:\n  default:\n    steps:\n      - { after: 0s, notify: [hook] }\n"
           "      - { after: 3s, notify: [hook] }\n"
           "routes:\n  - { match: { alertname: Heartbeat }, policy: default }\n"
           "  - { notify: [hook], group_by: [alertname, target] }\n";
  }

  std::string metrics() const { return daemon_->get("/metrics").body; }
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    return metric(metrics(), name, labels).value_or(-1);
  }
  double up(const std::string& target) const { return value("tocsin_collector_up", {{"target", target}}); }
  void wait_all_up() {
    for (const char* target : {"host", "pg", "cache"}) {
      ASSERT_TRUE(wait_until([&] { return up(target) == 1; }, 30s)) << target << "\n" << daemon_->log();
    }
    ASSERT_TRUE(wait_until(
        [&] {
          return value("tocsin_pg_query_up", {{"query", "custom:fault_jobs"}}) == 1;
        },
        20s))
        << metrics();
  }
  std::map<std::string, double> last_success() const {
    const std::string m = metrics();
    std::map<std::string, double> out;
    for (const char* target : {"host", "pg", "cache"}) {
      out[target] =
          metric(m, "tocsin_collector_last_success_timestamp_seconds", {{"target", target}}).value_or(0);
    }
    return out;
  }

  // Events ("event alertname target step"; the step only of triggered and escalated) the receiver accepted.
  std::map<std::string, long> events() const {
    std::map<std::string, long> out;
    for (std::string e : accepted_events(*hook_, kReceiverTimeout)) {
      std::istringstream in(e);
      std::string event, name, target, step;
      in >> event >> name >> target >> step;
      if (event != "triggered" && event != "escalated") step = "-";
      if (name == "Heartbeat") target = "-";
      ++out[event + " " + name + " " + target + " " + step];
    }
    return out;
  }
  long count(const std::string& key) const {
    auto e = events();
    auto it = e.find(key);
    return it == e.end() ? 0 : it->second;
  }
  std::string dump_events() const {
    std::string s;
    for (const auto& [k, n] : events()) s += k + " x" + std::to_string(n) + "\n";
    return s;
  }

  // Restarts the daemon (SIGKILL when `kill`), keeping the earlier log.
  void restart(bool kill) {
    logs_ += daemon_->log();
    daemon_->restart(kill);
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  }

  void run(const Scenario& s) {
    const pid_t pid_before = daemon_->process().pid();
    const long rss_before = rss_kib(pid_before);
    const auto before = last_success();
    std::map<std::string, long> expected{{"triggered Heartbeat - 1", 1}, {"escalated Heartbeat - 2", 1}};
    if (!s.faulted.empty()) {
      const std::string name = s.faulted == "pg:fault_jobs" ? "QueryDown" : "TargetDown";
      const std::string target = s.faulted == "pg:fault_jobs" ? "pg" : s.faulted;
      expected["triggered " + name + " " + target + " 1"] = 1;
      expected["resolved " + name + " " + target + " -"] = 1;
    }

    s.inject();
    if (!s.faulted.empty()) {
      EXPECT_TRUE(wait_until(
          [&] {
            return s.faulted == "pg:fault_jobs"
                       ? value("tocsin_pg_query_up", {{"query", "custom:fault_jobs"}}) == 0
                       : up(s.faulted) == 0;
          },
          20s))
          << s.name << ": never reported down\n"
          << metrics();
    }
    std::this_thread::sleep_for(s.hold);
    if (s.check_cadence) {
      // Each collector not at fault went on committing: its last success at least two cycles later.
      for (const auto& [target, t] : before) {
        if (s.faulted.starts_with(target)) continue;
        EXPECT_TRUE(wait_until([&] { return last_success()[target] >= t + 2; }, 10s))
            << s.name << ": " << target << " stopped collecting during the fault (" << t << " -> "
            << last_success()[target] << ")";
      }
    }
    if (s.during) s.during();
    s.heal();

    wait_all_up();
    const bool delivered = wait_until(
        [&] {
          auto e = events();
          for (const auto& [k, n] : expected)
            if (e[k] < n) return false;
          return true;
        },
        30s);
    EXPECT_TRUE(delivered) << s.name << "\n" << dump_events() << daemon_->log();
    std::this_thread::sleep_for(2s);  // let a duplicate show up
    const long rss_after = rss_kib(daemon_->process().pid());
    if (daemon_->process().pid() == pid_before) {
      EXPECT_LE(rss_after, 2 * rss_before + 64 * 1024)
          << s.name << ": RSS " << rss_before << " -> " << rss_after;
    }

    // The state: a restart notifies nothing again, and Heartbeat is still at step 2.
    const std::size_t accepted = accepted_events(*hook_, kReceiverTimeout).size();
    restart(false);
    std::this_thread::sleep_for(3s);
    EXPECT_EQ(accepted_events(*hook_, kReceiverTimeout).size(), accepted)
        << s.name << ": notified again after a restart\n"
        << dump_events();
    json alerts = json::parse(daemon_->get("/api/v1/alerts").body)["data"]["alerts"];
    int heartbeats = 0;
    for (const auto& a : alerts) {
      EXPECT_NE(a["labels"]["alertname"], "TargetDown") << a.dump();
      if (a["labels"]["alertname"] == "Heartbeat") {
        ++heartbeats;
        EXPECT_EQ(a["escalation"]["step"], 2) << a.dump();
      }
    }
    EXPECT_EQ(heartbeats, 1) << alerts.dump();

    Row row;
    row.fault = s.name;
    row.note = s.note;
    const auto got = events();
    for (const auto& [k, n] : expected) {
      auto it = got.find(k);
      const long have = it == got.end() ? 0 : it->second;
      if (have < n) row.lost += n - have;
    }
    for (const auto& [k, n] : got) {
      const long want = expected.count(k) ? expected[k] : 0;
      if (n > want && want > 0) row.duplicated += n - want;
      if (want == 0) ADD_FAILURE() << s.name << ": unexpected notification " << k << " x" << n;
    }
    EXPECT_EQ(row.lost, 0) << s.name << "\n" << dump_events();
    EXPECT_LE(row.duplicated, s.allowed_duplicates) << s.name << "\n" << dump_events();
    logs_ += daemon_->log();
    row.secrets_leaked = logs_.find(kPlantedPassword) != std::string::npos;
    EXPECT_FALSE(row.secrets_leaked) << s.name << ": the planted password is in the log";
    EXPECT_TRUE(daemon_->process().running());
    row.survived = daemon_->process().running() && !HasFailure();
    record(row);
  }

  // Moves the daemon's state_dir onto a tmpfs of `size` (root only): the daemon is stopped, its state copied.
  bool state_on_tmpfs(const std::string& size) {
    if (::geteuid() != 0) return false;
    logs_ += daemon_->log();
    daemon_->process().stop();
    const fs::path state = daemon_->dir() / "state";
    const fs::path saved = daemon_->dir() / "state.saved";
    fs::rename(state, saved);
    fs::create_directory(state);
    if (::mount("tmpfs", state.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      ADD_FAILURE() << "mount tmpfs: " << std::strerror(errno);
      return false;
    }
    mount_ = state.string();
    fs::copy(saved, state, fs::copy_options::recursive);
    daemon_->restart();
    EXPECT_TRUE(daemon_->wait_ready()) << daemon_->log();
    wait_all_up();
    return true;
  }

  static PostgresServer* pg_;
  static RedisServer* redis_;
  std::unique_ptr<HttpReceiver> hook_;
  std::unique_ptr<Daemon> daemon_;
  std::string logs_;
  std::string mount_;
};

PostgresServer* Faults::pg_ = nullptr;
RedisServer* Faults::redis_ = nullptr;

TEST_F(Faults, PostgresKilledAndRestarted) {
  std::string data;
  run({.name = "Postgres SIGKILLed, restarted",
       .faulted = "pg",
       .inject =
           [&] {
             data = pg_->psql("SHOW data_directory");
             auto pids = postgres_pids(*pg_);
             for (pid_t p : pids) ::kill(p, SIGKILL);
             ASSERT_TRUE(wait_until([&] { return std::all_of(pids.begin(), pids.end(), gone); }, 10s));
           },
       .heal =
           [&] {
             // The postmaster is not the test's child (pg_ctl started it): its pid may linger as a zombie,
             // which the new postmaster would take for a running server.
             fs::remove(fs::path(data) / "postmaster.pid");
             pg_->start();
           }});
}

TEST_F(Faults, PostgresPausedBeyondTheDeadline) {
  std::vector<pid_t> pids;
  run({.name = "Postgres SIGSTOPped 4 s (deadline 1 s), resumed",
       .faulted = "pg",
       .inject =
           [&] {
             pids = postgres_pids(*pg_);
             for (pid_t p : pids) ::kill(p, SIGSTOP);
           },
       .heal =
           [&] {
             for (pid_t p : pids) ::kill(p, SIGCONT);
           }});
}

TEST_F(Faults, PostgresTableLockedUnderTheCollector) {
  std::unique_ptr<Session> locker;
  run({.name = "Postgres: ACCESS EXCLUSIVE lock on a table a custom query reads",
       .faulted = "pg:fault_jobs",
       .inject =
           [&] {
             locker = std::make_unique<Session>(pg_->dsn());
             ASSERT_TRUE(locker->ok()) << locker->error();
             ASSERT_TRUE(locker->exec("BEGIN; LOCK TABLE fault_jobs IN ACCESS EXCLUSIVE MODE"));
           },
       .heal = [&] { locker.reset(); },
       .during =
           [&] {
             // The lock costs the one query, not the target.
             EXPECT_EQ(up("pg"), 1);
             EXPECT_EQ(value("pg_up", {{"target", "pg"}}), 1);
           }});
}

TEST_F(Faults, PostgresConnectionsExhausted) {
  std::vector<std::unique_ptr<Session>> held;
  run({.name = "Postgres: max_connections reached by other clients",
       .faulted = "pg",
       .inject =
           [&] {
             // Every slot the server has (the superuser's reserved ones too), then the collector's own
             // session ended, its slot taken before it reconnects.
             for (int i = 0; i < 60; ++i) {
               auto s = std::make_unique<Session>(pg_->dsn());
               if (!s->ok()) break;
               held.push_back(std::move(s));
             }
             ASSERT_FALSE(held.empty());
             for (int attempt = 0; attempt < 20; ++attempt) {
               held.front()->exec(
                   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'tocsin_faults'");
               auto s = std::make_unique<Session>(pg_->dsn());
               if (s->ok()) held.push_back(std::move(s));
               if (wait_until([&] { return up("pg") == 0; }, 3s)) break;
             }
           },
       .heal = [&] { held.clear(); },
       .note = "the collector's session ended, every slot taken"});
}

TEST_F(Faults, RedisKilledAndRestarted) {
  run({.name = "Redis SIGKILLed, restarted",
       .faulted = "cache",
       .inject = [&] { ASSERT_EQ(::kill(redis_pid(*redis_), SIGKILL), 0); },
       .heal =
           [&] {
             redis_->stop();  // reaps the killed one
             redis_->start();
           }});
}

TEST_F(Faults, RedisPausedBeyondTheDeadline) {
  pid_t pid = 0;
  run({.name = "Redis SIGSTOPped 4 s (deadline 1 s), resumed",
       .faulted = "cache",
       .inject =
           [&] {
             pid = redis_pid(*redis_);
             ::kill(pid, SIGSTOP);
           },
       .heal = [&] { ::kill(pid, SIGCONT); }});
}

// The receiver's faults: Redis stops during them, so that there is something to deliver.
Scenario receiver_fault(const std::string& name, HttpReceiver& hook, RedisServer& redis,
                        std::function<void()> break_it, std::function<void()> mend_it,
                        std::function<double()> failures) {
  auto start_failures = std::make_shared<double>(0);
  return {.name = name,
          .faulted = "cache",
          .inject =
              [&redis, break_it, failures, start_failures] {
                *start_failures = failures();
                break_it();
                redis.stop();
              },
          .heal =
              [&redis, mend_it] {
                mend_it();
                redis.start();
              },
          .during =
              [failures, start_failures] {
                EXPECT_TRUE(wait_until([&] { return failures() > *start_failures; }, 10s))
                    << "no failed delivery counted";
              },
          .note = "Redis stopped during it, for something to deliver"};
  (void)hook;
}

TEST_F(Faults, ReceiverAnswers500) {
  auto failures = [&] {
    return value("tocsin_notifications_total", {{"receiver", "hook"}, {"result", "failure"}});
  };
  run(receiver_fault(
      "receiver answers 500", *hook_, *redis_, [&] { hook_->respond(500, "broken"); },
      [&] { hook_->respond(200); }, failures));
}

TEST_F(Faults, ReceiverSlowerThanItsTimeout) {
  auto failures = [&] {
    return value("tocsin_notifications_total", {{"receiver", "hook"}, {"result", "failure"}});
  };
  run(receiver_fault(
      "receiver answers after 3 s (timeout 1 s)", *hook_, *redis_, [&] { hook_->delay(3s); },
      [&] { hook_->delay(0ms); }, failures));
}

TEST_F(Faults, ReceiverDown) {
  auto failures = [&] {
    return value("tocsin_notifications_total", {{"receiver", "hook"}, {"result", "failure"}});
  };
  run(receiver_fault(
      "receiver down (connection refused)", *hook_, *redis_, [&] { hook_->stop(); }, [&] { hook_->start(); },
      failures));
}

// SIGKILL as soon as the receiver has a delivery in flight (the outbox's result write follows it), three
// times: each kill may send the one in flight again, nothing else.
TEST_F(Faults, KilledDuringOutboxWrites) {
  run({.name = "tocsin SIGKILLed with a delivery in flight (x3)",
       .faulted = "cache",
       .inject =
           [&] {
             hook_->delay(400ms);
             redis_->stop();
             // Each kill's in-flight delivery is sent again after the restart, and killed again, until the
             // daemon has nothing left in flight.
             for (int kill = 0; kill < 3; ++kill) {
               const std::size_t seen = hook_->count();
               if (!wait_until([&] { return hook_->count() > seen; }, 5s)) break;
               restart(true);
             }
           },
       .heal =
           [&] {
             hook_->delay(0ms);
             redis_->start();
           },
       .hold = 1s,
       .check_cadence = false,
       .allowed_duplicates = 3,
       .note = "at least once: a kill may resend the one in flight"});
}

// SIGKILL as soon as the alert's decision is visible (alerting.json and alerts.json are written then):
// once on the trigger, once on the resolve.
TEST_F(Faults, KilledDuringStateWrites) {
  auto target_down_firing = [&] {
    const json alerts = json::parse(daemon_->get("/api/v1/alerts").body)["data"]["alerts"];
    for (const auto& a : alerts) {
      if (a["labels"]["alertname"] == "TargetDown" && a["state"] == "firing") return true;
    }
    return false;
  };
  run({.name = "tocsin SIGKILLed at an alert's trigger and at its resolve",
       .faulted = "cache",
       .inject =
           [&] {
             // Heartbeat's escalation first, so that the kill has one delivery in flight, not two.
             ASSERT_TRUE(wait_until([&] { return count("escalated Heartbeat - 2") >= 1; }, 20s));
             redis_->stop();
             ASSERT_TRUE(wait_until(target_down_firing, 20s));
             restart(true);
           },
       .heal =
           [&] {
             redis_->start();
             ASSERT_TRUE(wait_until([&] { return !target_down_firing(); }, 20s));
             restart(true);
           },
       .hold = 1s,
       .check_cadence = false,
       // Each kill may resend what was in flight: the trigger (or resolve), and the delivery of a step that
       // came due in the same instant, so up to two per kill.
       .allowed_duplicates = 4,
       .note = "at least once: a kill may resend what was in flight"});
}

TEST_F(Faults, StateDirFull) {
  if (::geteuid() != 0) GTEST_SKIP() << "a full state_dir needs a tiny tmpfs mounted, which needs root";
  ASSERT_TRUE(state_on_tmpfs("2m"));
  const fs::path filler = daemon_->dir() / "state" / "filler";
  auto write_failures = [&] { return value("tocsin_alerting_state_write_failures_total", {}); };
  double failures_before = 0;
  run({.name = "state_dir full (2 MiB tmpfs, filled)",
       .faulted = "cache",
       .inject =
           [&] {
             failures_before = write_failures();
             std::ofstream out(filler, std::ios::binary);
             const std::string block(4096, 'x');
             while (out.write(block.data(), block.size()) && out.flush()) {
             }
             redis_->stop();
           },
       .heal =
           [&] {
             fs::remove(filler);
             redis_->start();
           },
       .during =
           [&] {
             EXPECT_TRUE(wait_until([&] { return write_failures() > failures_before; }, 10s))
                 << "no failed state write counted\n"
                 << daemon_->log();
           },
       .note = "writes fail (counted, logged) while full; Redis stopped during it"});
}

TEST_F(Faults, StateDirReadOnly) {
  const fs::path state = daemon_->dir() / "state";
  auto write_failures = [&] { return value("tocsin_alerting_state_write_failures_total", {}); };
  double failures_before = 0;
  // Root ignores permissions: a read-only bind mount of the directory over itself (what the daemon has
  // open keeps working, every new file fails with EROFS, as on a file system remounted read-only).
  auto set_read_only = [&](bool ro) {
    if (::geteuid() == 0) {
      if (ro) {
        ASSERT_EQ(::mount(state.c_str(), state.c_str(), nullptr, MS_BIND, nullptr), 0)
            << std::strerror(errno);
        mount_ = state.string();
        ASSERT_EQ(::mount(nullptr, state.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0)
            << std::strerror(errno);
      } else {
        ASSERT_EQ(::umount2(state.c_str(), MNT_DETACH), 0) << std::strerror(errno);
        mount_.clear();
      }
    } else {
      fs::permissions(state, ro ? fs::perms(0555) : fs::perms(0755));
    }
  };
  run({.name = "state_dir read-only (bind-mounted ro)",
       .faulted = "cache",
       .inject =
           [&] {
             failures_before = write_failures();
             set_read_only(true);
             redis_->stop();
           },
       .heal =
           [&] {
             set_read_only(false);
             redis_->start();
           },
       .during =
           [&] {
             EXPECT_TRUE(wait_until([&] { return write_failures() > failures_before; }, 10s))
                 << "no failed state write counted\n"
                 << daemon_->log();
           },
       .note = "writes fail (counted, logged) while read-only; Redis stopped during it"});
}

// A daemon stopped, its rule state truncated and its store snapshot corrupted, then started: both are
// set aside and reported, and the alerting state (intact) keeps every notification from being sent again.
TEST_F(Faults, TruncatedAndCorruptStateFiles) {
  const fs::path state = daemon_->dir() / "state";
  run({.name = "alerts.json truncated, store.snapshot corrupt",
       .inject =
           [&] {
             logs_ += daemon_->log();
             daemon_->process().stop();
             ASSERT_TRUE(fs::exists(state / "alerts.json"));
             ASSERT_TRUE(fs::exists(state / "store.snapshot"));
             fs::resize_file(state / "alerts.json", fs::file_size(state / "alerts.json") / 2);
             {
               std::fstream f(state / "store.snapshot", std::ios::in | std::ios::out | std::ios::binary);
               f.seekp(static_cast<std::streamoff>(fs::file_size(state / "store.snapshot") / 2));
               f << "garbage in the middle of the snapshot";
             }
             daemon_->restart();
             ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
           },
       .heal = [] {},
       .during =
           [&] {
             const std::string log = daemon_->log();
             EXPECT_NE(log.find("alerts.json"), std::string::npos) << log;
             EXPECT_NE(log.find("corrupt"), std::string::npos) << log;
           },
       .note = "set aside and reported; alerting.json intact, so nothing re-sent"});
}

}  // namespace
}  // namespace tocsin::testing::faults
