// Writes the store_snapshot target's seeds (a real snapshot from Store::write_snapshot: two writers,
// sealed and open chunks, a series that ended, one with its own times) into the directory given:
// "payload" (first byte 0: the payload alone, the target adds the header) and "file" (1: as written).
#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "tocsin/core/clock.hpp"
#include "tocsin/store/batch.hpp"
#include "tocsin/store/store.hpp"

using namespace std::chrono_literals;
using tocsin::store::Batch;
using tocsin::store::MetricType;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  tocsin::ManualClock clock(1'700'000'000'000);
  tocsin::store::Store store(tocsin::store::StoreOptions{}, clock);
  const auto a = store.register_writer("collector/host/a", 15s);
  const auto b = store.register_writer("rules/group/b", 15s);
  std::mt19937_64 rng(1);
  for (int cycle = 1; cycle <= 150; ++cycle) {
    const tocsin::Timestamp t = 1'700'000'000'000 + cycle * 15000 + static_cast<tocsin::Timestamp>(rng() % 3);
    Batch batch;
    batch.describe("requests_total", MetricType::counter, "Requests \"served\".");
    for (int i = 0; i < 3; ++i) batch.add("requests_total", {{"i", std::to_string(i)}}, cycle * (i + 1.5));
    if (cycle < 100) batch.add("ends", {{"x", "y"}}, std::bit_cast<double>(rng()));
    batch.add(tocsin::Labels{{"__name__", "own"}}, -0.0, t - 60000 * (cycle % 2));
    store.commit(a, batch, t);
    Batch rules;
    rules.add("job:ratio", {}, cycle % 3 ? 0.25 : 1e308);
    store.commit(b, rules, t);
  }
  const auto tmp = dir / "snapshot.tmp";
  store.write_snapshot(tmp);
  std::ifstream in(tmp, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(tmp);
  std::ofstream(dir / "payload", std::ios::binary) << '\0' << file.substr(32);
  std::ofstream(dir / "file", std::ios::binary) << '\1' << file;
  return 0;
}
