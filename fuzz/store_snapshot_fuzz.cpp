// The store snapshot (state_dir/store.snapshot) read into a new store, then rendered as /metrics does.
// The first byte picks what the rest is: even, the payload, given the header and checksum a writer
// would have written (so the fuzzer reaches the decoder); odd, the whole file as it is. A snapshot
// that cannot be read is a SnapshotError and leaves the store empty.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_file.hpp"
#include "store/checksum.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/store/exposition.hpp"
#include "tocsin/store/store.hpp"

namespace {

template <class T>
void put(std::string& out, T v) {
  char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);
  out.append(bytes, sizeof v);
}

// As Store::write_snapshot lays it out: magic, u32 version, u32 reserved, u64 length, u64 checksum.
std::string with_header(const char* payload, std::size_t size) {
  tocsin::store::detail::Checksum sum;
  sum.add(payload, size);
  std::string file("TOCSINSN", 8);
  put<std::uint32_t>(file, 2);
  put<std::uint32_t>(file, 0);
  put<std::uint64_t>(file, size);
  put<std::uint64_t>(file, sum.finish());
  file.append(payload, size);
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* rest = reinterpret_cast<const char*>(data) + 1;
  const std::string file = (data[0] & 1) != 0 ? std::string(rest, size - 1) : with_header(rest, size - 1);
  const std::string& path = tocsin::fuzz::input_path("store.snapshot");
  tocsin::fuzz::write_input(path, file.data(), file.size());
  static const tocsin::ManualClock clock(1'700'000'000'000);
  tocsin::store::Store store(tocsin::store::StoreOptions{}, clock);
  try {
    (void)store.read_snapshot(path);
  } catch (const tocsin::store::SnapshotError&) {
  }
  std::string out;
  tocsin::store::render_exposition(store, out);
  return 0;
}
