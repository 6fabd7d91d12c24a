// Bytes per point of the store's compressed chunks beside Prometheus 2.42's chunks holding the same
// samples, in the same run (docs/performance.md, issue 19).
//
// The series are shaped like exporter output: integer counters at rates from 0.01/s to 100/s, CPU
// seconds counters (centiseconds), byte counters, gauges that change rarely (1 % of scrapes), and
// gauges that move every scrape (an integer random walk, a two-decimal reading). Timestamps are a
// fixed-rate scheduler's: one per scrape, shared by the scrape's series, the wall clock in ms at a
// wake-up late by an exponential delay of mean 0.3 ms and, once in 100 scrapes, up to 20 ms (load).
//
//   tocsin   the codec alone (points / bytes of the chunks' bitstreams), and store::Store holding
//            them (its chunk bytes with headers and the head chunks' spare capacity, and all of
//            tocsin_store_bytes, over the points)
//   Prometheus 2.42  `promtool tsdb create-blocks-from openmetrics` on the same samples: its block's
//            chunk files (the head's XOR chunks as written out, with their framing) over numSamples.
//   The 100,000-series hour: the store after two hours of 15 s cycles with garbage collection every
//            30 s (the daemon's), so it holds its steady-state window.
//
//   bench_store_chunks [--series N] [--big-series N] [--promtool PATH] [--skip-big]
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "store/chunk.hpp"
#include "tocsin/store/store.hpp"

namespace {

using namespace tocsin;
using namespace tocsin::store;
using namespace std::chrono_literals;

constexpr Timestamp kStart = 1'700'006'400'000;  // on a 2 h boundary, so Prometheus's block is one

enum class Kind { counter, cpu_counter, byte_counter, rare_gauge, moving_gauge, reading_gauge };

struct SeriesGen {
  Kind kind;
  double value = 0;
  double rate = 0;  // per second
};

Kind kind_of(std::size_t i) {
  const std::size_t r = i % 20;
  if (r < 6) return Kind::counter;        // 30 %
  if (r < 8) return Kind::cpu_counter;    // 10 %
  if (r < 10) return Kind::byte_counter;  // 10 %
  if (r < 16) return Kind::rare_gauge;    // 30 %
  if (r < 18) return Kind::moving_gauge;  // 10 %
  return Kind::reading_gauge;             // 10 %
}

const char* name_of(Kind k) {
  switch (k) {
    case Kind::counter: return "app_requests_total";
    case Kind::cpu_counter: return "process_cpu_seconds_total";
    case Kind::byte_counter: return "net_received_bytes_total";
    case Kind::rare_gauge: return "app_config_value";
    case Kind::moving_gauge: return "app_queue_length";
    case Kind::reading_gauge: return "node_temperature_celsius";
  }
  return "x";
}

struct Data {
  std::vector<Timestamp> times;             // one per scrape
  std::vector<std::vector<double>> values;  // per series, per scrape
  std::vector<Kind> kinds;
};

Data generate(std::size_t series, std::size_t scrapes, Timestamp interval_ms, bool jitter,
              std::uint64_t seed) {
  Data d;
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> late(1 / 0.3);  // ms
  std::uniform_real_distribution<double> unit(0, 1);
  const double offset = unit(rng);  // the scheduler's phase within a millisecond
  for (std::size_t k = 0; k < scrapes; ++k) {
    double at = static_cast<double>(kStart) + static_cast<double>(k) * static_cast<double>(interval_ms);
    if (jitter) {
      at += offset + late(rng);
      if (rng() % 100 == 0) at += unit(rng) * 20;
    }
    d.times.push_back(static_cast<Timestamp>(std::floor(at)));
  }
  const double dt = static_cast<double>(interval_ms) / 1000;
  for (std::size_t i = 0; i < series; ++i) {
    SeriesGen g{kind_of(i)};
    g.rate = std::pow(10.0, unit(rng) * 4 - 2);  // 0.01 .. 100 per second
    switch (g.kind) {
      case Kind::counter: g.value = std::floor(unit(rng) * 1e6); break;
      case Kind::cpu_counter: g.value = std::round(unit(rng) * 1e6) / 100; break;
      case Kind::byte_counter: g.value = std::floor(unit(rng) * 1e12); break;
      case Kind::rare_gauge: g.value = std::floor(unit(rng) * 100); break;
      case Kind::moving_gauge: g.value = std::floor(unit(rng) * 50); break;
      case Kind::reading_gauge: g.value = 40 + std::round(unit(rng) * 2000) / 100; break;
    }
    std::vector<double> v(scrapes);
    for (std::size_t k = 0; k < scrapes; ++k) {
      switch (g.kind) {
        case Kind::counter: {
          std::poisson_distribution<long> n(g.rate * dt);
          g.value += static_cast<double>(n(rng));
          break;
        }
        case Kind::cpu_counter: {
          // centiseconds of CPU, as /proc reports them, summed in a double as exporters do
          std::poisson_distribution<long> n(std::min(g.rate, 1.0) * dt * 100);
          g.value += static_cast<double>(n(rng)) / 100;
          break;
        }
        case Kind::byte_counter: {
          std::poisson_distribution<long> n(g.rate * dt);
          g.value += static_cast<double>(n(rng) * static_cast<long>(64 + rng() % 1400));
          break;
        }
        case Kind::rare_gauge:
          if (rng() % 100 == 0) g.value = std::floor(unit(rng) * 100);
          break;
        case Kind::moving_gauge: g.value = std::max(0.0, g.value + static_cast<double>(rng() % 7) - 3); break;
        case Kind::reading_gauge:
          g.value = std::round((g.value + (unit(rng) - 0.5) * 0.2) * 100) / 100;
          break;
      }
      v[k] = g.value;
    }
    d.values.push_back(std::move(v));
    d.kinds.push_back(g.kind);
  }
  return d;
}

Labels labels_of(const Data& d, std::size_t i) {
  return Labels{
      {"__name__", name_of(d.kinds[i])},
      {"instance", "10.0." + std::to_string(i / 250 % 250) + "." + std::to_string(i % 250) + ":9100"},
      {"job", "app" + std::to_string(i % 5)},
      {"series", std::to_string(i)}};
}

struct Tocsin {
  double codec_bytes_per_point = 0;  // the bitstreams alone
  double chunk_bytes_per_point = 0;  // StoreStats::chunk_bytes: with chunk headers and head capacity
  double store_bytes_per_point = 0;  // tocsin_store_bytes over the points
  double store_bytes_per_series = 0;
  std::size_t points = 0;
  double decode_ns_per_point = 0;
  std::size_t kind_bytes[6] = {};
  std::size_t kind_points[6] = {};
  std::size_t kind_chunks[6] = {};   // sealed
  std::size_t kind_decimal[6] = {};  // of which in the decimal encoding
  double seal_ns = 0;
  std::size_t seals = 0;
};

Tocsin measure_tocsin(const Data& d, Timestamp interval_ms) {
  Tocsin out;
  // The codec alone, cut as the store cuts: chunks of 120 points.
  std::size_t bytes = 0;
  std::size_t points = 0;
  for (std::size_t i = 0; i < d.values.size(); ++i) {
    const auto& v = d.values[i];
    detail::HeadChunk head;
    std::size_t series_bytes = 0;
    for (std::size_t k = 0; k < v.size(); ++k) {
      head.append(d.times[k], v[k]);
      if (head.count() == detail::kMaxChunkPoints) {
        const auto started = std::chrono::steady_clock::now();
        const detail::ChunkRef sealed = head.seal();
        out.seal_ns +=
            std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
        ++out.seals;
        series_bytes += sealed->bytes().size();
        ++out.kind_chunks[static_cast<std::size_t>(d.kinds[i])];
        if (sealed->encoding() == detail::Encoding::decimal)
          ++out.kind_decimal[static_cast<std::size_t>(d.kinds[i])];
      }
    }
    series_bytes += head.bytes().size();
    bytes += series_bytes;
    points += v.size();
    out.kind_bytes[static_cast<std::size_t>(d.kinds[i])] += series_bytes;
    out.kind_points[static_cast<std::size_t>(d.kinds[i])] += v.size();
  }
  out.codec_bytes_per_point = static_cast<double>(bytes) / static_cast<double>(points);
  {
    // Decoding speed: every chunk of every series, best of three passes.
    std::vector<detail::ChunkRef> chunks;
    for (const auto& v : d.values) {
      detail::HeadChunk head;
      for (std::size_t k = 0; k < v.size(); ++k) {
        head.append(d.times[k], v[k]);
        if (head.count() == detail::kMaxChunkPoints) chunks.push_back(head.seal());
      }
      if (!head.empty()) chunks.push_back(head.seal());
    }
    double best = 1e9;
    for (int pass = 0; pass < 3; ++pass) {
      double sum = 0;
      const auto started = std::chrono::steady_clock::now();
      for (const auto& c : chunks) {
        detail::decode(*c, std::numeric_limits<Timestamp>::min(), std::numeric_limits<Timestamp>::max(),
                       [&sum](Point p) { sum += p.v; });
      }
      const double ns =
          std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
      best = std::min(best, ns / static_cast<double>(points));
      if (sum == 0.5) std::printf(" ");  // keeps the decoding
    }
    out.decode_ns_per_point = best;
  }

  // The store holding them: retention covering the whole run, so nothing is dropped.
  ManualClock clock(d.times.back());
  const auto span = std::chrono::milliseconds(d.times.back() - d.times.front() + 2 * interval_ms);
  Store store(StoreOptions{span}, clock);
  const WriterId w = store.register_writer("bench", std::chrono::milliseconds(interval_ms));
  Batch batch;
  batch.set_labels_cached(true);
  for (std::size_t i = 0; i < d.values.size(); ++i) batch.add(labels_of(d, i), 0);
  for (std::size_t k = 0; k < d.times.size(); ++k) {
    for (std::size_t i = 0; i < d.values.size(); ++i) batch.samples()[i].value = d.values[i][k];
    store.commit(w, batch, d.times[k]);
  }
  const StoreStats st = store.stats();
  out.points = st.points;
  out.chunk_bytes_per_point = static_cast<double>(st.chunk_bytes) / static_cast<double>(st.points);
  out.store_bytes_per_point = static_cast<double>(st.bytes) / static_cast<double>(st.points);
  out.store_bytes_per_series = static_cast<double>(st.bytes) / static_cast<double>(st.series);
  return out;
}

struct Prom {
  double bytes_per_sample = -1;
  std::size_t samples = 0;
  std::size_t chunks = 0;
};

void append_ts(std::string& out, Timestamp t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, " %lld.%03lld\n", static_cast<long long>(t / 1000),
                static_cast<long long>(t % 1000));
  out += buf;
}

Prom measure_prometheus(const Data& d, const std::string& promtool) {
  Prom out;
  const auto dir =
      std::filesystem::temp_directory_path() / ("tocsin-bench-chunks-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    // OpenMetrics, one series after another (a family's samples together), values in full precision.
    std::ofstream om(dir / "in.om");
    std::string line;
    char value[40];
    for (std::size_t i = 0; i < d.values.size(); ++i) {
      const Labels labels = labels_of(d, i);
      std::string prefix(labels.metric_name());
      prefix += '{';
      bool first = true;
      for (const Label& l : labels) {
        if (l.name == kMetricNameLabel) continue;
        if (!first) prefix += ',';
        first = false;
        prefix += std::string(l.name) + "=\"" + std::string(l.value) + "\"";
      }
      prefix += "} ";
      for (std::size_t k = 0; k < d.times.size(); ++k) {
        line = prefix;
        std::snprintf(value, sizeof value, "%.17g", d.values[i][k]);
        line += value;
        append_ts(line, d.times[k]);
        om << line;
      }
    }
    om << "# EOF\n";
  }
  const std::string cmd = promtool + " tsdb create-blocks-from openmetrics -q " + (dir / "in.om").string() +
                          " " + (dir / "out").string() + " > " + (dir / "log").string() + " 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "promtool failed: see %s\n", (dir / "log").c_str());
    return out;
  }
  std::size_t chunk_bytes = 0;
  for (const auto& block : std::filesystem::directory_iterator(dir / "out")) {
    if (!std::filesystem::exists(block.path() / "meta.json")) continue;
    std::ifstream meta(block.path() / "meta.json");
    const auto j = nlohmann::json::parse(meta);
    out.samples += j["stats"]["numSamples"].get<std::size_t>();
    out.chunks += j["stats"]["numChunks"].get<std::size_t>();
    for (const auto& f : std::filesystem::directory_iterator(block.path() / "chunks"))
      chunk_bytes += f.file_size();
  }
  if (out.samples > 0)
    out.bytes_per_sample = static_cast<double>(chunk_bytes) / static_cast<double>(out.samples);
  std::filesystem::remove_all(dir);
  return out;
}

void scenario(const char* title, std::size_t series, std::size_t scrapes, Timestamp interval_ms, bool jitter,
              const std::string& promtool) {
  const Data d = generate(series, scrapes, interval_ms, jitter, 19);
  const Tocsin t = measure_tocsin(d, interval_ms);
  const Prom p = promtool.empty() ? Prom{} : measure_prometheus(d, promtool);
  std::printf("%-34s %7zu series x %5zu  tocsin codec %.3f  chunks %.3f  store %.3f B/pt (%.0f B/series)",
              title, series, scrapes, t.codec_bytes_per_point, t.chunk_bytes_per_point,
              t.store_bytes_per_point, t.store_bytes_per_series);
  if (p.bytes_per_sample > 0) {
    std::printf("  | Prometheus 2.42 chunks %.3f B/sample (%zu samples, %zu chunks)  ratio %.2f\n",
                p.bytes_per_sample, p.samples, p.chunks, t.codec_bytes_per_point / p.bytes_per_sample);
  } else {
    std::printf("  | Prometheus: not measured\n");
  }
  std::printf(
      "    decoding %.2f ns/point, sealing %.2f us/chunk; codec by kind (B/pt, sealed chunks decimal):",
      t.decode_ns_per_point, t.seals ? t.seal_ns / 1000 / static_cast<double>(t.seals) : 0.0);
  for (std::size_t k = 0; k < 6; ++k) {
    if (t.kind_points[k] == 0) continue;
    std::printf(" %s %.2f (%.0f %%)", name_of(static_cast<Kind>(k)),
                static_cast<double>(t.kind_bytes[k]) / static_cast<double>(t.kind_points[k]),
                t.kind_chunks[k]
                    ? 100.0 * static_cast<double>(t.kind_decimal[k]) / static_cast<double>(t.kind_chunks[k])
                    : 0.0);
  }
  std::printf("\n");
}

std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// 100,000 series of the realistic mix with bench_store's label shape (100 metric names x 1,000
// combinations of job/instance/path/method), 15 s cycles for two hours with garbage collection every
// 30 s: the store in its steady state for a 1 h window, measured at every cycle of the second hour
// (a series holds its window plus the older part of its oldest chunk, which varies with the cycle).
void big_hour(std::size_t series) {
  constexpr Timestamp kInterval = 15000;
  constexpr std::size_t kScrapes = 480;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  Batch batch;
  batch.set_labels_cached(true);
  std::vector<Kind> kinds;
  std::vector<double> rates;
  for (std::size_t m = 0; m < 100; ++m) {
    const Kind kind = kind_of(m);
    const std::string name = std::string(name_of(kind)) + "_" + std::to_string(m);
    for (std::size_t i = 0; i < series / 100; ++i) {
      batch.add(name,
                {{"job", "app" + std::to_string(i % 5)},
                 {"instance", "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":9100"},
                 {"path", "/api/v1/items/" + std::to_string(i % 200)},
                 {"method", i % 2 ? "GET" : "POST"}},
                std::floor(unit(rng) * 1000));
      kinds.push_back(kind);
      rates.push_back(std::pow(10.0, unit(rng) * 4 - 2));
    }
  }
  const Data times = generate(0, kScrapes, kInterval, true, 29);
  ManualClock clock(kStart);
  double sum_bytes = 0;
  double sum_chunk_bytes = 0;
  double sum_points = 0;
  std::size_t max_bytes = 0;
  std::size_t measured = 0;
  std::size_t heap_grown = 0;
  StoreStats st{};
  double seconds = 0;
  {
    const std::size_t heap_before = heap_in_use();
    Store store(StoreOptions{1h}, clock);
    const WriterId w = store.register_writer("bench", std::chrono::milliseconds(kInterval));
    for (std::size_t k = 0; k < kScrapes; ++k) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        double& v = batch.samples()[i].value;
        switch (kinds[i]) {
          case Kind::counter: v += std::floor(rates[i] * 15 * unit(rng) * 2); break;
          case Kind::cpu_counter:
            v += std::floor(std::min(rates[i], 1.0) * 1500 * unit(rng) * 2) / 100;
            break;
          case Kind::byte_counter: v += std::floor(rates[i] * 15 * unit(rng) * 2) * 700; break;
          case Kind::rare_gauge:
            if (rng() % 100 == 0) v = std::floor(unit(rng) * 100);
            break;
          case Kind::moving_gauge: v = std::max(0.0, v + static_cast<double>(rng() % 7) - 3); break;
          case Kind::reading_gauge: v = std::round((v + (unit(rng) - 0.5) * 0.2) * 100) / 100; break;
        }
      }
      clock.set(times.times[k]);
      const auto started = std::chrono::steady_clock::now();
      store.commit(w, batch, times.times[k]);
      if (k % 2 == 1) store.collect_garbage();
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (k >= kScrapes / 2) {
        st = store.stats();
        sum_bytes += static_cast<double>(st.bytes);
        sum_chunk_bytes += static_cast<double>(st.chunk_bytes);
        sum_points += static_cast<double>(st.points);
        max_bytes = std::max(max_bytes, st.bytes);
        ++measured;
      }
    }
    heap_grown = heap_in_use() - heap_before;
    // The snapshot of that store: written, then read into a new one (issue 19: under 1 s each).
    const auto path =
        std::filesystem::temp_directory_path() / ("tocsin-bench-snapshot-" + std::to_string(::getpid()));
    auto started_write = std::chrono::steady_clock::now();
    const SnapshotInfo written = store.write_snapshot(path);
    const double write_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_write).count();
    Store restored(StoreOptions{1h}, clock);
    auto started_read = std::chrono::steady_clock::now();
    const SnapshotInfo read = restored.read_snapshot(path);
    const double read_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_read).count();
    std::filesystem::remove(path);
    std::printf("  snapshot of %zu series, %zu points: %.1f MB written in %.3f s, read in %.3f s\n",
                read.series, read.points, static_cast<double>(written.bytes) / 1e6, write_s, read_s);
  }
  const double n = static_cast<double>(measured);
  const double per_series = static_cast<double>(st.series);
  std::printf(
      "%zu series x 1 h at 15 s, realistic mix, jittered (steady state: the second hour of two, GC every 30 "
      "s)\n"
      "  points held %.0f/series on average (window 240); tocsin_store_bytes %.1f MB on average, %.1f MB at "
      "most "
      "(%.0f B/series, %.2f B/point); chunks %.1f MB (%.2f B/point)\n"
      "  heap held by the store at the end %.1f MB (tocsin_store_bytes then %.1f MB)\n"
      "  commit + collection: %.1f ms per cycle\n",
      st.series, sum_points / n / per_series, sum_bytes / n / 1e6, static_cast<double>(max_bytes) / 1e6,
      sum_bytes / n / per_series, sum_bytes / sum_points, sum_chunk_bytes / n / 1e6,
      sum_chunk_bytes / sum_points, static_cast<double>(heap_grown) / 1e6,
      static_cast<double>(st.bytes) / 1e6, seconds * 1000 / kScrapes);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t series = 10'000;
  std::size_t big_series = 100'000;
  std::string promtool = "/usr/bin/promtool";
  bool skip_big = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--series") == 0 && i + 1 < argc) series = std::strtoul(argv[++i], nullptr, 10);
    if (std::strcmp(argv[i], "--big-series") == 0 && i + 1 < argc)
      big_series = std::strtoul(argv[++i], nullptr, 10);
    if (std::strcmp(argv[i], "--promtool") == 0 && i + 1 < argc) promtool = argv[++i];
    if (std::strcmp(argv[i], "--skip-big") == 0) skip_big = true;
  }
  if (!std::filesystem::exists(promtool)) {
    std::fprintf(stderr, "%s not found: Prometheus's figures are left out\n", promtool.c_str());
    promtool.clear();
  }
  std::printf("bytes per point: the same samples in tocsin's chunks and in Prometheus 2.42's\n");
  scenario("15 s, 1 h, regular timestamps", series, 240, 15000, false, promtool);
  scenario("15 s, 1 h, jittered timestamps", series, 240, 15000, true, promtool);
  scenario("1 s, 30 min, regular timestamps", series / 10, 1800, 1000, false, promtool);
  scenario("1 s, 30 min, jittered timestamps", series / 10, 1800, 1000, true, promtool);
  if (!skip_big) big_hour(big_series);
  return 0;
}
