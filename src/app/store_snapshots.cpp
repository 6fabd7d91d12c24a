#include "app/store_snapshots.hpp"

#include <chrono>
#include <system_error>

namespace tocsin::app {

namespace {

double snapshot_seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

StoreSnapshots::StoreSnapshots(store::Store& store, const std::string& state_dir,
                               prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log)
    : store_(store), log_(std::move(log)) {
  if (!state_dir.empty()) path_ = std::filesystem::path(state_dir) / "store.snapshot";
  bytes_ = &prometheus::BuildGauge()
                .Name("tocsin_store_snapshot_bytes")
                .Help("Size of the last store snapshot written to or read from state_dir.")
                .Register(registry)
                .Add({});
  auto& seconds = prometheus::BuildGauge()
                      .Name("tocsin_store_snapshot_duration_seconds")
                      .Help("How long the last store snapshot took to write or to read.")
                      .Register(registry);
  write_seconds_ = &seconds.Add({{"operation", "write"}});
  read_seconds_ = &seconds.Add({{"operation", "read"}});
  last_write_ = &prometheus::BuildGauge()
                     .Name("tocsin_store_snapshot_last_write_timestamp_seconds")
                     .Help("When the store snapshot was last written successfully.")
                     .Register(registry)
                     .Add({});
  auto& errors = prometheus::BuildCounter()
                     .Name("tocsin_store_snapshot_errors_total")
                     .Help("Store snapshots that could not be written, or read back at start.")
                     .Register(registry);
  write_errors_ = &errors.Add({{"operation", "write"}});
  read_errors_ = &errors.Add({{"operation", "read"}});
}

void StoreSnapshots::restore() {
  if (path_.empty()) return;
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return;
  const auto start = std::chrono::steady_clock::now();
  try {
    const store::SnapshotInfo info = store_.read_snapshot(path_);
    read_seconds_->Set(snapshot_seconds_since(start));
    bytes_->Set(static_cast<double>(info.bytes));
    log_->info("store snapshot {} read: {} series, {} points, {} bytes in {:.3f}s", path_.string(),
               info.series, info.points, info.bytes, snapshot_seconds_since(start));
  } catch (const store::SnapshotError& e) {
    read_errors_->Increment();
    std::filesystem::path aside = path_;
    aside += ".bad";
    std::filesystem::rename(path_, aside, ec);
    log_->warn("store snapshot {} not read ({}); moved to {}{}, starting with an empty store", path_.string(),
               e.what(), aside.string(), ec ? " failed: " + ec.message() : "");
  } catch (const std::exception& e) {
    read_errors_->Increment();
    log_->warn("store snapshot {} not read: {}; starting with an empty store", path_.string(), e.what());
  }
}

void StoreSnapshots::write() {
  if (path_.empty()) return;
  std::lock_guard lock(mutex_);
  const auto start = std::chrono::steady_clock::now();
  try {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    const store::SnapshotInfo info = store_.write_snapshot(path_);
    write_seconds_->Set(snapshot_seconds_since(start));
    bytes_->Set(static_cast<double>(info.bytes));
    last_write_->Set(
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  } catch (const std::exception& e) {
    write_errors_->Increment();
    log_->error("store snapshot {} not written: {}", path_.string(), e.what());
  }
}

}  // namespace tocsin::app
