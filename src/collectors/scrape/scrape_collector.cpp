#include <glob.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "collectors/scrape/exposition.hpp"
#include "collectors/scrape/families.hpp"
#include "collectors/scrape/pipeline.hpp"
#include "collectors/scrape/scrape.hpp"
#include "collectors/scrape/targets.hpp"
#include "tocsin/collectors/problem_log.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/net/http_client.hpp"

namespace tocsin::collectors {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// What Prometheus 2.42 asks for: OpenMetrics first, then the text format.
constexpr std::string_view kAcceptHeader =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
constexpr int kMaxRedirects = 10;  // Go's http.Client stops after 10
constexpr std::size_t kMaxTargetFileBytes = 16u << 20;
constexpr std::size_t kMaxParallelScrapes = 16;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Inflates a gzip body into `out`, never past `limit` bytes. Returns the problem, or "".
std::string gunzip(const std::string& in, std::size_t limit, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return "cannot start gzip decoding";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out.clear();
  std::string error;
  char buffer[64 * 1024];
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const std::size_t produced = sizeof buffer - zs.avail_out;
    if (out.size() + produced > limit) {
      error = "body size limit of " + std::to_string(limit) + " bytes exceeded (after gzip decoding)";
      break;
    }
    out.append(buffer, produced);
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      error = rc == Z_BUF_ERROR ? "gzip body truncated"
                                : std::string("invalid gzip body: ") + (zs.msg ? zs.msg : "");
      break;
    }
  }
  inflateEnd(&zs);
  return error;
}

// `location` of a redirect, resolved against `base` (an absolute http(s) URL).
std::string resolve_location(const std::string& base, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  const auto scheme_end = base.find("://") + 3;
  const auto path_start = base.find('/', scheme_end);
  const std::string origin = base.substr(0, path_start);
  if (location.starts_with("//")) return base.substr(0, scheme_end - 2) + location;
  if (location.starts_with('/')) return origin + location;
  std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
  path = path.substr(0, path.find('?'));
  return origin + path.substr(0, path.rfind('/') + 1) + location;
}

std::string seconds_text(Duration d) {
  char buf[32];
  const double s = std::chrono::duration<double>(d).count();
  auto r = std::to_chars(buf, buf + sizeof buf, s);
  return std::string(buf, r.ptr);
}

net::TlsConfig tls_of(const config::ScrapeTlsConfig& tls) {
  return {.insecure_skip_verify = tls.insecure_skip_verify,
          .ca_file = tls.ca_file,
          .server_name = tls.server_name};
}

std::unique_ptr<net::HttpClient> make_client(const config::ScrapeTlsConfig& tls) {
  return std::make_unique<net::HttpClient>(tls_of(tls), net::ClientCertificate{tls.cert_file, tls.key_file});
}

struct Outcome {
  store::Batch batch;
  scrape::AppendResult counts;
  scrape::SeriesSet series;
  std::string error;  // empty when up
  double seconds = 0;
};

struct TargetState {
  std::string url;
  Labels labels;
  bool up = false;
  std::string error;
  double seconds = 0;
  std::size_t samples = 0;
  std::size_t duplicates = 0;
};

struct WatchedFile {
  struct timespec mtime {};
  off_t size = -1;
  ino_t inode = 0;
  std::vector<scrape::TargetGroup> groups;
};

class ScrapeCollector final : public Collector {
 public:
  ScrapeCollector(const config::ScrapeCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        client_(make_client(config.tls_config)),
        log_(log),
        problems_(log, "scrape collector " + config.common.name) {
    const Duration interval = config.effective_interval.count() > 0
                                  ? config.effective_interval
                                  : config.common.interval.value_or(std::chrono::minutes(1));
    timeout_ = config.effective_timeout.count() > 0
                   ? config.effective_timeout
                   : config.common.timeout.value_or(std::min(interval, config::kDefaultScrapeTimeout));
    job_.job = config.job_name;
    job_.scheme = config.scheme;
    job_.metrics_path = config.metrics_path;
    job_.scrape_interval = format_duration(interval);
    job_.scrape_timeout = format_duration(timeout_);
    job_.params = config.params;
    for (const auto& s : config.static_configs) {
      scrape::TargetGroup group;
      group.targets = s.targets;
      for (const auto& [name, value] : s.labels) group.labels.push_back({name, value});
      static_groups_.push_back(std::move(group));
    }
    body_limit_ = static_cast<std::size_t>(config.body_size_limit > 0 ? config.body_size_limit
                                                                      : config::kMaxScrapeBodyBytes);
    options_.honor_labels = config.honor_labels;
    options_.honor_timestamps = config.honor_timestamps;
    options_.metric_relabel = config_.metric_relabel_configs;
    options_.sample_limit = config.sample_limit;
    options_.label_limit = config.label_limit;
    options_.label_name_length_limit = config.label_name_length_limit;
    options_.label_value_length_limit = config.label_value_length_limit;
    if (config.tls_config.insecure_skip_verify && config.scheme == "https") {
      log->warn(
          "scrape collector {}: tls_config.insecure_skip_verify is set: the targets' certificates are NOT "
          "checked",
          config.common.name);
    }
  }

  std::string_view kind() const override { return "scrape"; }
  const std::string& name() const override { return config_.common.name; }

  void collect(const CollectContext& ctx, store::Batch& out) override {
    std::vector<scrape::ScrapeTarget> targets = current_targets();
    for (const auto& t : targets) {
      auto& cache = caches_[t.url + t.labels.to_string()];
      if (!cache) cache = std::make_unique<scrape::SeriesCache>();
    }
    std::vector<Outcome> outcomes(targets.size());
    if (targets.size() == 1) {
      outcomes[0] = scrape_target(targets[0], ctx);
    } else if (!targets.empty()) {
      // One thread per target, at most kMaxParallelScrapes at once (a target file can list many).
      std::atomic<std::size_t> next{0};
      auto worker = [&] {
        for (std::size_t i = next++; i < targets.size(); i = next++)
          outcomes[i] = scrape_target(targets[i], ctx);
      };
      std::vector<std::thread> threads;
      const std::size_t n = std::min(targets.size(), kMaxParallelScrapes);
      for (std::size_t i = 0; i < n; ++i) threads.emplace_back(worker);
      for (auto& t : threads) t.join();
    }

    // The CA and client certificate are read once per client: a new one picks up files that appear.
    if (std::any_of(outcomes.begin(), outcomes.end(),
                    [](const Outcome& o) { return o.error.find("TLS setup failed") != std::string::npos; })) {
      client_ = make_client(config_.tls_config);
    }
    std::size_t total = 0;
    for (const Outcome& o : outcomes) total += o.batch.size();
    out.samples().reserve(out.samples().size() + total + 5 * targets.size());
    out.set_labels_cached(true);  // the series caches hand out the same label sets each scrape
    store::Batch report;
    std::vector<TargetState> states;
    std::size_t down = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const scrape::ScrapeTarget& t = targets[i];
      Outcome& o = outcomes[i];
      const bool up = o.error.empty();
      if (up) {
        for (const auto& f : o.batch.families()) out.describe(f.name, f.type, f.help);
        for (auto& s : o.batch.samples()) out.samples().push_back(std::move(s));
      } else {
        ++down;
        o.counts = {};
      }
      add_report(report, t.labels, up, o);
      states.push_back({t.url, t.labels, up, o.error, o.seconds, o.counts.kept, o.counts.duplicates});
    }
    // Forget the series of targets that are gone.
    std::set<std::string> keys;
    for (const auto& t : targets) keys.insert(t.url + t.labels.to_string());
    std::erase_if(caches_, [&](const auto& kv) { return !keys.contains(kv.first); });

    for (auto& s : report.samples()) out.samples().push_back(s);
    {
      std::lock_guard lock(mutex_);
      states_ = states;
      down_batch_.reset();
      if (!targets.empty() && down == targets.size()) down_batch_ = report;
    }
    if (!targets.empty() && down == targets.size()) {
      // The scheduler logs this once per change and reports the instance down; describe_down()
      // gives it the up 0 series.
      const std::string& first = states.front().error;
      throw CollectError(targets.size() == 1
                             ? first
                             : "all " + std::to_string(targets.size()) + " targets are down; " + first);
    }
    for (const TargetState& s : states) {
      if (!s.up) {
        problems_.report(s.url, spdlog::level::warn, s.error);
      } else {
        problems_.clear(s.url, [&] { return "GET " + s.url + ": up again"; });
        if (s.duplicates > 0) {
          problems_.report("dup " + s.url, spdlog::level::warn,
                           "GET " + s.url + ": " + std::to_string(s.duplicates) +
                               " samples repeat a series of the same scrape and are dropped");
        } else {
          problems_.clear("dup " + s.url, [&] { return "GET " + s.url + ": no duplicate series any more"; });
        }
      }
    }
  }

  void describe_down(store::Batch& out) override {
    std::lock_guard lock(mutex_);
    if (down_batch_) {
      for (const auto& s : down_batch_->samples()) out.samples().push_back(s);
      down_batch_.reset();
      return;
    }
    // The deadline passed (collect() is still running): every known target is down.
    for (const TargetState& s : states_)
      out.samples().push_back({scrape::report_labels(scrape::kUp, s.labels), 0});
  }

  void interrupt() override {
    std::lock_guard lock(mutex_);
    for (const auto& c : cancels_) c->cancel();
  }

  nlohmann::json details() const override {
    std::lock_guard lock(mutex_);
    nlohmann::json targets = nlohmann::json::array();
    for (const TargetState& s : states_) {
      nlohmann::json labels = nlohmann::json::object();
      for (const Label& l : s.labels) labels[l.name] = l.value;
      targets.push_back({{"url", s.url},
                         {"labels", labels},
                         {"health", s.up ? "up" : "down"},
                         {"last_error", s.error},
                         {"last_scrape_duration_seconds", s.seconds},
                         {"samples", s.samples},
                         {"duplicates_dropped", s.duplicates}});
    }
    return {{"job", config_.job_name}, {"targets", targets}};
  }

 private:
  void add_report(store::Batch& report, const Labels& target, bool up, const Outcome& o) const {
    report.samples().push_back({scrape::report_labels(scrape::kUp, target), up ? 1.0 : 0.0});
    report.samples().push_back({scrape::report_labels(scrape::kDuration, target), o.seconds});
    report.samples().push_back(
        {scrape::report_labels(scrape::kSamplesScraped, target), static_cast<double>(o.counts.scraped)});
    report.samples().push_back(
        {scrape::report_labels(scrape::kSamplesPostRelabel, target), static_cast<double>(o.counts.kept)});
    report.samples().push_back(
        {scrape::report_labels(scrape::kSeriesAdded, target), static_cast<double>(o.counts.series_added)});
  }

  // The targets of this cycle: the static groups and the target files, relabelled, without repeats.
  std::vector<scrape::ScrapeTarget> current_targets() {
    std::vector<const scrape::TargetGroup*> groups;
    for (const auto& g : static_groups_) groups.push_back(&g);
    refresh_files();
    for (const auto& [path, file] : files_) {
      for (const auto& g : file.groups) groups.push_back(&g);
    }
    std::vector<scrape::ScrapeTarget> out;
    std::set<std::string> seen;
    for (const scrape::TargetGroup* g : groups) {
      for (const std::string& address : g->targets) {
        try {
          auto t = scrape::populate_target(address, g->labels, job_, config_.relabel_configs);
          problems_.clear("target " + address, [&] { return "target " + address + " is usable again"; });
          if (!t) continue;  // dropped by relabel_configs
          if (!seen.insert(t->url + t->labels.to_string()).second) continue;
          out.push_back(std::move(*t));
        } catch (const std::invalid_argument& e) {
          problems_.report("target " + address, spdlog::level::err, e.what());
        }
      }
    }
    return out;
  }

  void refresh_files() {
    std::set<std::string> matched;
    for (const auto& sd : config_.file_sd_configs) {
      for (const std::string& pattern : sd.files) {
        glob_t g{};
        if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
          for (std::size_t i = 0; i < g.gl_pathc; ++i) matched.insert(g.gl_pathv[i]);
        }
        ::globfree(&g);
      }
    }
    std::erase_if(files_, [&](const auto& kv) { return !matched.contains(kv.first); });
    for (const std::string& path : matched) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) continue;
      WatchedFile& w = files_[path];
      if (w.size == st.st_size && w.inode == st.st_ino && w.mtime.tv_sec == st.st_mtim.tv_sec &&
          w.mtime.tv_nsec == st.st_mtim.tv_nsec) {
        continue;
      }
      w.size = st.st_size;
      w.inode = st.st_ino;
      w.mtime = st.st_mtim;
      try {
        if (st.st_size > static_cast<off_t>(kMaxTargetFileBytes))
          throw std::runtime_error(path + ": larger than 16 MiB");
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error(path + ": cannot read");
        std::stringstream text;
        text << in.rdbuf();
        w.groups = scrape::parse_target_file(text.str(), path);
        problems_.clear("file " + path, [&] { return "target file " + path + " reads again"; });
      } catch (const std::exception& e) {
        // The targets it had before stay, as Prometheus keeps them.
        problems_.report("file " + path, spdlog::level::err, std::string("target file: ") + e.what());
      }
    }
  }

  // GET with Prometheus's headers, following redirects. Returns the problem, or "".
  std::string fetch(const std::string& url, SteadyClock::time_point deadline, std::string& body,
                    std::string& content_type) {
    net::HttpRequest request;
    request.method = "GET";
    request.headers.emplace_back("Accept", std::string(kAcceptHeader));
    request.headers.emplace_back("Accept-Encoding", "gzip");
    request.headers.emplace_back("User-Agent", "tocsin");
    request.headers.emplace_back("X-Prometheus-Scrape-Timeout-Seconds", seconds_text(timeout_));
    if (config_.basic_auth) {
      request.headers.emplace_back("Authorization", "Basic " + base64(config_.basic_auth->username + ":" +
                                                                      config_.basic_auth->password.reveal()));
    } else if (config_.authorization) {
      request.headers.emplace_back(
          "Authorization", config_.authorization->type + " " + config_.authorization->credentials.reveal());
    }
    request.max_body_bytes = body_limit_;
    auto cancel = std::make_shared<net::Cancellation>();
    {
      std::lock_guard lock(mutex_);
      cancels_.push_back(cancel);
    }
    struct Unregister {
      ScrapeCollector* self;
      net::Cancellation* c;
      ~Unregister() {
        std::lock_guard lock(self->mutex_);
        std::erase_if(self->cancels_, [&](const auto& p) { return p.get() == c; });
      }
    } unregister{this, cancel.get()};

    std::string current = url;
    for (int hop = 0;; ++hop) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
      if (left <= milliseconds(0))
        return "no response within scrape_timeout (" + format_duration(timeout_) + ")";
      request.url = current;
      request.timeout = left;
      net::HttpResponse response = client_->send(request, cancel.get());
      if (!response.error.empty()) {
        std::string error = response.error;
        if (error.starts_with("timed out") || error == "cancelled")
          error = "no response within scrape_timeout (" + format_duration(timeout_) + ")";
        if (error.starts_with("response body larger than"))
          error = "body size limit of " + std::to_string(body_limit_) + " bytes exceeded";
        return error;
      }
      const int status = response.status;
      if (status >= 300 && status < 400 && status != 304 && config_.follow_redirects) {
        const std::string location = response.header("Location");
        if (location.empty()) return "HTTP " + std::to_string(status) + " without a Location";
        if (hop + 1 >= kMaxRedirects) return "stopped after " + std::to_string(kMaxRedirects) + " redirects";
        current = resolve_location(current, location);
        continue;
      }
      if (status != 200) return "server returned HTTP status " + std::to_string(status);
      content_type = response.header("Content-Type");
      if (response.header("Content-Encoding") == "gzip") {
        std::string plain;
        if (std::string e = gunzip(response.body, body_limit_, plain); !e.empty()) return e;
        body = std::move(plain);
      } else {
        body = std::move(response.body);
      }
      return {};
    }
  }

  Outcome scrape_target(const scrape::ScrapeTarget& target, const CollectContext& ctx) {
    Outcome o;
    const auto started = SteadyClock::now();
    const auto deadline = std::min(ctx.deadline, started + timeout_);
    std::string body;
    std::string content_type;
    try {
      o.error = fetch(target.url, deadline, body, content_type);
      if (o.error.empty()) {
        // caches_ is only read here while collect() waits for every scrape; each scrape has a cache
        // of its own, made before the scrapes start, which knows the target's last good scrape.
        static const scrape::SeriesSet kUnused;
        o.counts = scrape::append_exposition_cached(
            body, scrape::format_of(content_type), target.labels, options_, kUnused, o.series,
            *caches_.at(target.url + target.labels.to_string()), o.batch);
      }
    } catch (const scrape::ExpositionError& e) {
      o.error =
          std::string("malformed exposition (") +
          (scrape::format_of(content_type) == scrape::Format::openmetrics ? "OpenMetrics" : "text format") +
          ") at " + e.what();
    } catch (const std::exception& e) {
      o.error = e.what();
    }
    if (!o.error.empty()) {
      o.error = "GET " + target.url + ": " + o.error;
      o.batch.clear();
      o.series.clear();
    }
    o.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    return o;
  }

  const config::ScrapeCollectorConfig config_;
  std::unique_ptr<net::HttpClient> client_;  // replaced only in collect()
  std::shared_ptr<spdlog::logger> log_;
  ProblemLog problems_;  // only in collect()
  scrape::JobSettings job_;
  Duration timeout_{};
  std::size_t body_limit_ = 0;
  scrape::SampleOptions options_;
  std::vector<scrape::TargetGroup> static_groups_;
  std::map<std::string, WatchedFile> files_;  // only in collect()
  // Per target; only in collect() and the scrapes it runs, one scrape each.
  std::map<std::string, std::unique_ptr<scrape::SeriesCache>> caches_;
  mutable std::mutex mutex_;  // guards cancels_, states_, down_batch_
  std::vector<std::shared_ptr<net::Cancellation>> cancels_;
  std::vector<TargetState> states_;
  std::optional<store::Batch> down_batch_;
};

}  // namespace

std::unique_ptr<Collector> make_scrape_collector(const config::ScrapeCollectorConfig& config,
                                                 std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<ScrapeCollector>(config, std::move(log));
}

const Kind& scrape_kind() {
  static constexpr Kind kind =
      define_kind<config::ScrapeCollectorConfig, make_scrape_collector, config::check_scrape>(
          "scrape", false, scrape::kOwnLabels);
  return kind;
}

}  // namespace tocsin::collectors
