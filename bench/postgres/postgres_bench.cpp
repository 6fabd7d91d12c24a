// The Postgres collector's load on the database beside postgres_exporter's, on one throwaway
// PostgreSQL: per 15 s cycle, averaged over `--cycles` cycles (20: five minutes), the database
// server time of each tool's statements (pg_stat_statements' own rows for the tool's role), the
// serving backends' CPU, the statements sent, wall time, the tool's own CPU and its series.
//
//   bench_postgres [--cycles N] [--statements N] [--tables N,N,...] [--exporter PATH]
//
// Two scenarios by default: 48 tables (pgbench's 4 and 44 more) with 1,100 statements in
// pg_stat_statements, then 5,000 tables. tocsin runs with its defaults (each query on its own
// interval) on a virtual clock that advances 15 s a cycle, so each query runs as often as it would
// in five minutes, and once more with every query every cycle. postgres_exporter 0.11 (Debian 12's
// prometheus-postgres-exporter) runs with its default collectors, and again with the
// pg_stat_statements query of its example queries.yaml (PostgreSQL 13+ column names); it runs all
// its queries on each scrape, so one scrape is one cycle. Each tool connects as a pg_monitor role
// of its own, so pg_stat_statements tells their statements apart, and the four run their cycles in
// turn (one of each, then the next), so that the shared machine's load falls on all alike. Prints the tables
// docs/performance.md records.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/postgres/postgres.hpp"
#include "collectors/postgres/queries.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/postgres_server.hpp"
#include "fixtures/process.hpp"

namespace {

using namespace std::chrono_literals;
using tocsin::testing::PostgresServer;
using Clock = std::chrono::steady_clock;

struct Figures {
  double statements = 0;      // per cycle, counted by pg_stat_statements
  double exec_ms = 0;         // per cycle: pg_stat_statements' total_exec_time of those statements
  double backend_cpu_ms = 0;  // per cycle: utime+stime of the serving backend(s)
  double wall_ms_median = 0;
  double wall_ms_p90 = 0;
  double client_cpu_ms = 0;  // per cycle: the collector's (or the exporter process's) CPU
  double series = 0;         // per cycle
  double connections = 0;    // backends of the tool's role
  std::vector<std::pair<std::string, double>> query_ms;  // tocsin: wall time per query, last cycle
};

double cpu_ms_of_pid(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double thread_cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct RoleUsage {
  double calls = 0;
  double exec_ms = 0;
  double backend_cpu_ms = 0;
  double backends = 0;
};

RoleUsage role_usage(const PostgresServer& server, const std::string& role) {
  RoleUsage u;
  std::istringstream stats(server.psql(
      "SELECT coalesce(sum(calls), 0), coalesce(sum(total_exec_time), 0) FROM pg_stat_statements s "
      "JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '" +
      role + "'"));
  std::string calls, exec;
  std::getline(stats, calls, '|');
  std::getline(stats, exec);
  u.calls = std::stod(calls);
  u.exec_ms = std::stod(exec);
  std::istringstream pids(server.psql("SELECT pid FROM pg_stat_activity WHERE usename = '" + role + "'"));
  for (std::string pid; std::getline(pids, pid);) {
    if (pid.empty()) continue;
    u.backend_cpu_ms += cpu_ms_of_pid(std::stoi(pid));
    u.backends += 1;
  }
  return u;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// The psql fixture prints nothing for a statement like DO; a helper to time the fill.
void fill_statements(const PostgresServer& server, int statements) {
  // Distinct statements need distinct shapes (pg_stat_statements folds constants): two arrays of
  // different lengths give 71 x 71 shapes.
  server.psql(
      "DO $$DECLARE n int := 0; BEGIN FOR a IN 1..71 LOOP FOR b IN 1..71 LOOP EXIT WHEN n >= " +
      std::to_string(statements) +
      "; EXECUTE format('SELECT ARRAY[%s], ARRAY[%s]', "
      "array_to_string(array_fill(1, ARRAY[a]), ','), array_to_string(array_fill(2, ARRAY[b]), ',')); "
      "n := n + 1; END LOOP; END LOOP; END$$");
}

// One tool under measurement: its role, and per cycle its wall time, its own CPU and its series.
// The tools' cycles are interleaved (one cycle of each in turn), so that a change in the shared
// machine's load falls on all of them alike.
class Tool {
 public:
  explicit Tool(std::string role) : role(std::move(role)) {}
  virtual ~Tool() = default;
  virtual void cycle() = 0;

  std::string role;
  RoleUsage before;
  std::vector<double> wall;
  double cpu = 0;
  double series = 0;
  std::vector<std::pair<std::string, double>> query_ms;  // tocsin: wall time per query, last cycle
};

// `every_cycle`: every query every cycle (query_intervals all 0) instead of the defaults. The
// virtual clock advances 15 s a cycle. The warm-up cycle (connect, the session's SET, the look for
// pg_stat_statements) is five minutes before the first measured one, so every query is due again in
// the first measured cycle and the measured cycles hold each interval's runs as five real minutes
// do.
class TocsinTool final : public Tool {
 public:
  TocsinTool(const PostgresServer& server, std::string role, bool every_cycle) : Tool(std::move(role)) {
    tocsin::config::PostgresTargetConfig config;
    config.common.name = "bench";
    config.dsn = server.dsn();
    config.user = this->role;
    if (every_cycle) {
      for (auto q : tocsin::collectors::postgres::kAllQueries) {
        if (q != tocsin::collectors::postgres::Query::server)
          config.query_intervals[std::string(tocsin::collectors::postgres::query_name(q))] = 0s;
      }
    }
    auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
    collector_ = tocsin::collectors::make_postgres_collector(config, log);
    tocsin::store::Batch warm;
    collector_->collect({.timestamp = now_ - 300'000, .deadline = Clock::now() + 30s}, warm);
  }

  void cycle() override {
    tocsin::store::Batch batch;
    const double cpu0 = thread_cpu_ms();
    const auto t0 = Clock::now();
    collector_->collect({.timestamp = now_, .deadline = Clock::now() + 30s}, batch);
    now_ += 15'000;
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cpu += thread_cpu_ms() - cpu0;
    series = static_cast<double>(batch.size());
    query_ms.clear();
    for (const auto& sample : batch.samples()) {
      if (sample.labels.metric_name() != "tocsin_pg_query_duration_seconds") continue;
      query_ms.emplace_back(std::string(sample.labels.get("query")), sample.value * 1000);
    }
  }

 private:
  std::unique_ptr<tocsin::collectors::Collector> collector_;
  tocsin::Timestamp now_ = 1'800'000'000'000;
};

Figures figures_of(const PostgresServer& server, const Tool& tool, int cycles) {
  const RoleUsage after = role_usage(server, tool.role);
  Figures f;
  f.statements = (after.calls - tool.before.calls) / cycles;
  f.exec_ms = (after.exec_ms - tool.before.exec_ms) / cycles;
  f.backend_cpu_ms = (after.backend_cpu_ms - tool.before.backend_cpu_ms) / cycles;
  f.wall_ms_median = percentile(tool.wall, 0.5);
  f.wall_ms_p90 = percentile(tool.wall, 0.9);
  f.client_cpu_ms = tool.cpu / cycles;
  f.series = tool.series;
  f.connections = after.backends;
  f.query_ms = tool.query_ms;
  return f;
}

// postgres_exporter, started with its default collectors (and with the example pg_stat_statements
// query when `pgss`); one scrape of /metrics is one cycle. Throws when it does not start.
class ExporterTool final : public Tool {
 public:
  ExporterTool(const PostgresServer& server, const std::string& exporter, std::string role, bool pgss)
      : Tool(std::move(role)) {
    // The pg_stat_statements query of Debian's example queries.yaml with PostgreSQL 13+ column names.
    const auto queries = dir_.write("queries.yaml", R"(pg_stat_statements:
  query: >-
    SELECT t2.rolname, t3.datname, queryid, calls, total_exec_time / 1000 as total_time_seconds,
    min_exec_time / 1000 as min_time_seconds, max_exec_time / 1000 as max_time_seconds,
    mean_exec_time / 1000 as mean_time_seconds, stddev_exec_time / 1000 as stddev_time_seconds, rows,
    shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written, local_blks_hit,
    local_blks_read, local_blks_dirtied, local_blks_written, temp_blks_read, temp_blks_written,
    blk_read_time / 1000 as blk_read_time_seconds, blk_write_time / 1000 as blk_write_time_seconds
    FROM pg_stat_statements t1 JOIN pg_roles t2 ON (t1.userid=t2.oid) JOIN pg_database t3 ON (t1.dbid=t3.oid)
    WHERE t2.rolname != 'rdsadmin'
  master: true
  metrics:
    - rolname: {usage: "LABEL", description: "Name of user"}
    - datname: {usage: "LABEL", description: "Name of database"}
    - queryid: {usage: "LABEL", description: "Query ID"}
    - calls: {usage: "COUNTER", description: "Number of times executed"}
    - total_time_seconds: {usage: "COUNTER", description: "Total time spent in the statement"}
    - min_time_seconds: {usage: "GAUGE", description: "Minimum time spent in the statement"}
    - max_time_seconds: {usage: "GAUGE", description: "Maximum time spent in the statement"}
    - mean_time_seconds: {usage: "GAUGE", description: "Mean time spent in the statement"}
    - stddev_time_seconds: {usage: "GAUGE", description: "Standard deviation of the time spent"}
    - rows: {usage: "COUNTER", description: "Rows retrieved or affected by the statement"}
    - shared_blks_hit: {usage: "COUNTER", description: "Shared block cache hits"}
    - shared_blks_read: {usage: "COUNTER", description: "Shared blocks read"}
    - shared_blks_dirtied: {usage: "COUNTER", description: "Shared blocks dirtied"}
    - shared_blks_written: {usage: "COUNTER", description: "Shared blocks written"}
    - local_blks_hit: {usage: "COUNTER", description: "Local block cache hits"}
    - local_blks_read: {usage: "COUNTER", description: "Local blocks read"}
    - local_blks_dirtied: {usage: "COUNTER", description: "Local blocks dirtied"}
    - local_blks_written: {usage: "COUNTER", description: "Local blocks written"}
    - temp_blks_read: {usage: "COUNTER", description: "Temp blocks read"}
    - temp_blks_written: {usage: "COUNTER", description: "Temp blocks written"}
    - blk_read_time_seconds: {usage: "COUNTER", description: "Time the statement spent reading blocks"}
    - blk_write_time_seconds: {usage: "COUNTER", description: "Time the statement spent writing blocks"}
)");
    port_ = tocsin::testing::free_port();
    tocsin::testing::ProcessOptions options;
    options.env = {"DATA_SOURCE_NAME=host=127.0.0.1 port=" + std::to_string(server.port()) +
                   " user=" + this->role + " dbname=postgres sslmode=disable"};
    options.stdout_file = dir_ / "exporter.log";
    options.stderr_file = dir_ / "exporter.log";
    std::vector<std::string> args = {exporter, "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=warn"};
    if (pgss) args.push_back("--extend.query-path=" + queries.string());
    process_ = std::make_unique<tocsin::testing::Process>(args, options);
    if (!tocsin::testing::wait_until([&] { return tocsin::testing::port_open(port_); }, 10s))
      throw std::runtime_error("postgres_exporter did not start");
    tocsin::testing::http_get(port_, "/metrics");  // connects and reads the server version
  }

  void cycle() override {
    const double cpu0 = cpu_ms_of_pid(process_->pid());
    const auto t0 = Clock::now();
    auto result = tocsin::testing::http_request(port_, "GET", "/metrics", "", {}, 60s);
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cpu += cpu_ms_of_pid(process_->pid()) - cpu0;
    series = 0;
    std::istringstream lines(tocsin::testing::decoded_body(result));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line[0] != '#' && line.starts_with("pg_")) series += 1;
    }
  }

 private:
  tocsin::testing::TempDir dir_{"tocsin-bench-pg"};
  int port_ = 0;
  std::unique_ptr<tocsin::testing::Process> process_;
};

// Tables beyond pgbench's four, each with a primary key and a few rows, some read by index and
// some by sequential scans so that the activity ranking has something to rank.
void add_tables(const PostgresServer& server, int from, int to) {
  for (int start = from; start < to; start += 500) {
    const int end = std::min(to, start + 500);
    server.psql(
        "DO $$BEGIN FOR i IN " + std::to_string(start) + ".." + std::to_string(end - 1) +
        " LOOP EXECUTE format('CREATE TABLE IF NOT EXISTS bench_t%s (id int PRIMARY KEY, v text); "
        "INSERT INTO bench_t%s SELECT g, g::text FROM generate_series(1, 20) g ON CONFLICT DO NOTHING; "
        "SELECT * FROM bench_t%s WHERE id = 3; SELECT count(*) FROM bench_t%s', i, i, i, i); "
        "END LOOP; END$$");
  }
  server.psql("ANALYZE");
}

struct Column {
  const char* name;
  Figures figures;
};

void print_table(const std::vector<Column>& columns) {
  std::printf("| %-50s |", "per 15 s cycle");
  for (const Column& c : columns) std::printf(" %s |", c.name);
  std::printf("\n|%s|", std::string(52, '-').c_str());
  for (std::size_t i = 0; i < columns.size(); ++i) std::printf("---|");
  std::printf("\n");
  auto row = [&](const char* what, double Figures::*field, const char* format) {
    std::printf("| %-50s |", what);
    for (const Column& c : columns) {
      char cell[64];
      std::snprintf(cell, sizeof cell, format, c.figures.*field);
      std::printf(" %s |", cell);
    }
    std::printf("\n");
  };
  row("database server time (pg_stat_statements, ms)", &Figures::exec_ms, "%.2f");
  row("database CPU: serving backends utime+stime (ms)", &Figures::backend_cpu_ms, "%.2f");
  row("statements sent", &Figures::statements, "%.2f");
  row("wall time, median (ms)", &Figures::wall_ms_median, "%.1f");
  row("wall time, 90th percentile (ms)", &Figures::wall_ms_p90, "%.1f");
  row("collector CPU (ms)", &Figures::client_cpu_ms, "%.2f");
  row("series produced (last cycle)", &Figures::series, "%.0f");
}

// tocsin's statements by server time over the run, from pg_stat_statements.
void print_statements_of(const PostgresServer& server, const std::string& role) {
  std::printf("\n%s's statements by server time (calls, total ms):\n", role.c_str());
  std::istringstream rows(server.psql(
      "SELECT calls, round(total_exec_time::numeric, 2), left(regexp_replace(query, '\\s+', ' ', 'g'), 70) "
      "FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = '" +
      role + "' ORDER BY total_exec_time DESC LIMIT 12"));
  for (std::string line; std::getline(rows, line);) std::printf("  %s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int cycles = 20;
  int statements = 1100;
  std::vector<int> table_counts = {48, 5000};
  std::string exporter = "prometheus-postgres-exporter";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--cycles") cycles = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--statements") statements = std::max(0, std::atoi(argv[i + 1]));
    if (flag == "--exporter") exporter = argv[i + 1];
    if (flag == "--tables") {
      table_counts.clear();
      std::istringstream list(argv[i + 1]);
      for (std::string n; std::getline(list, n, ',');)
        table_counts.push_back(std::max(4, std::atoi(n.c_str())));
    }
  }
  try {
    PostgresServer server({.settings = {"pg_stat_statements.max = 10000"}, .pg_stat_statements = true});
    server.psql(
        "CREATE ROLE tocsin_bench LOGIN IN ROLE pg_monitor; CREATE ROLE tocsin_every_bench LOGIN IN ROLE "
        "pg_monitor; CREATE ROLE exporter_bench LOGIN IN ROLE pg_monitor; CREATE ROLE exporter_pgss_bench "
        "LOGIN IN ROLE pg_monitor");
    const std::string bin = PostgresServer::bin_dir();
    tocsin::testing::run_command({bin + "/pgbench", "-i", "-q", "-s", "1", "-h", server.host(), "-p",
                                  std::to_string(server.port()), "-U", "postgres", "postgres"});
    fill_statements(server, statements);
    int tables = 4;
    for (int wanted : table_counts) {
      add_tables(server, tables - 4, wanted - 4);
      tables = std::max(tables, wanted);
      server.psql("SELECT pg_stat_statements_reset()");
      fill_statements(server, statements);
      const std::string held = server.psql("SELECT count(*) FROM pg_stat_statements");
      const std::string user_tables = server.psql("SELECT count(*) FROM pg_stat_user_tables");
      std::printf(
          "\n### %s tables, pg_stat_statements holding %s statements; PostgreSQL %d, %d cycles of 15 s\n\n",
          user_tables.c_str(), held.c_str(), server.version_num(), cycles);
      std::vector<std::unique_ptr<Tool>> tools;
      std::vector<const char*> names = {"tocsin (defaults)", "tocsin, every query every cycle"};
      tools.push_back(std::make_unique<TocsinTool>(server, "tocsin_bench", false));
      tools.push_back(std::make_unique<TocsinTool>(server, "tocsin_every_bench", true));
      const bool have_exporter = tocsin::testing::find_executable(exporter).has_value();
      if (have_exporter) {
        tools.push_back(std::make_unique<ExporterTool>(server, exporter, "exporter_bench", false));
        tools.push_back(std::make_unique<ExporterTool>(server, exporter, "exporter_pgss_bench", true));
        names.push_back("postgres_exporter 0.11, defaults");
        names.push_back("postgres_exporter 0.11 + pg_stat_statements query");
      }
      for (auto& tool : tools) tool->before = role_usage(server, tool->role);
      for (int i = 0; i < cycles; ++i) {
        for (auto& tool : tools) tool->cycle();
      }
      std::vector<Column> columns;
      for (std::size_t t = 0; t < tools.size(); ++t)
        columns.push_back({names[t], figures_of(server, *tools[t], cycles)});
      std::optional<Figures> defaults;
      if (have_exporter) defaults = columns[2].figures;
      print_table(columns);
      if (defaults) {
        std::printf(
            "\ntocsin's server time against postgres_exporter's default set: %.2f (target: at most 0.5)\n",
            columns[0].figures.exec_ms / defaults->exec_ms);
      } else {
        std::printf("\n%s not found: postgres_exporter not measured\n", exporter.c_str());
      }
      std::printf("\ntocsin's statements, wall time of each in the last cycle (ms):");
      for (const auto& [query, ms] : columns[0].figures.query_ms) std::printf(" %s %.2f,", query.c_str(), ms);
      std::printf("\n");
      print_statements_of(server, "tocsin_bench");
      print_statements_of(server, "exporter_bench");
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "bench_postgres: %s\n", ex.what());
    return 1;
  }
  return 0;
}
