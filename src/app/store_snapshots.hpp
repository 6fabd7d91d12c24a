#pragma once
// The store's window across restarts: <state_dir>/store.snapshot, read at start before the first
// cycle, written at every checkpoint (config `snapshot_interval`) and when the daemon stops.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "tocsin/store/store.hpp"

namespace tocsin::app {

// Thread-safe: write() may run on a worker while the daemon stops.
class StoreSnapshots {
 public:
  // An empty state_dir disables snapshots.
  StoreSnapshots(store::Store& store, const std::string& state_dir, prometheus::Registry& registry,
                 std::shared_ptr<spdlog::logger> log);

  // Reads the snapshot into the store, which must be new (before any collector or rule registers).
  // A snapshot that cannot be read (truncated, corrupt, another version) is moved aside to
  // store.snapshot.bad, with one warning, and the store starts empty. Never throws.
  void restore();
  // Writes the snapshot atomically; a failure is logged and counted and the previous one stays.
  // Never throws.
  void write();

 private:
  store::Store& store_;
  std::filesystem::path path_;
  std::shared_ptr<spdlog::logger> log_;
  std::mutex mutex_;  // one write at a time
  prometheus::Gauge* bytes_ = nullptr;
  prometheus::Gauge* write_seconds_ = nullptr;
  prometheus::Gauge* read_seconds_ = nullptr;
  prometheus::Gauge* last_write_ = nullptr;
  prometheus::Counter* write_errors_ = nullptr;
  prometheus::Counter* read_errors_ = nullptr;
};

}  // namespace tocsin::app
