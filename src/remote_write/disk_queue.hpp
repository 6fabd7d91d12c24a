#pragma once
// The on-disk part of a remote-write queue: one file per encoded request in
// state_dir/remote_write/<remote_name>/, named by its sequence number, so the queue's order is the
// files' order and survives a restart. Each file is written as the alert outbox's state is: to a
// .tmp, fsynced, renamed, the directory fsynced. A file that cannot be read back (truncated, bad
// checksum) is moved aside (.corrupt) with one log line and counted; the queue goes on without it.
// Bounded in bytes: pushing past the bound drops the oldest files first (never the one being sent).

#include <spdlog/fwd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tocsin/core/sample.hpp"

namespace tocsin::remote_write {

// One encoded request: the compressed WriteRequest exactly as it is sent.
struct Request {
  std::uint64_t seq = 0;  // order within the queue
  std::string body;
  std::uint32_t samples = 0;
  Timestamp highest = 0;  // its newest sample's time
  bool on_disk = false;   // a copy is in the disk queue
};

// Not thread-safe: the queue manager calls it under its lock.
class DiskQueue {
 public:
  DiskQueue(std::filesystem::path dir, std::uint64_t max_bytes, std::shared_ptr<spdlog::logger> log);

  // Creates the directory and indexes the files in it (reading only their headers). Returns the
  // sequence number after the last file, 1 when empty. Throws std::system_error when the directory
  // cannot be made or read.
  std::uint64_t open();

  // Writes `request` (its seq names the file), dropping the oldest files first when the bound would
  // be exceeded. Returns the samples dropped to make room (the request's own when it alone is over the
  // bound, and then it is not written). Throws std::runtime_error when the file cannot be written.
  std::uint64_t push(const Request& request);

  bool empty() const { return index_.empty(); }
  std::uint64_t front_seq() const { return index_.begin()->first; }  // only when !empty()
  // Reads the oldest file. A corrupt one is moved aside and the next tried; nullopt when none is left.
  // The request read stays in the queue (pinned: push never drops it) until remove().
  std::optional<Request> read_front();
  void remove(std::uint64_t seq);
  // Keeps push() from dropping `seq` (the request being sent, written after it failed) until remove().
  void pin(std::uint64_t seq) { pinned_ = seq; }

  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t samples() const { return samples_; }
  std::size_t files() const { return index_.size(); }
  std::uint64_t max_bytes() const { return max_bytes_; }
  std::uint64_t corrupt_files() const { return corrupt_; }
  std::uint64_t dropped_samples() const { return dropped_; }

 private:
  struct Entry {
    std::uint64_t bytes;
    std::uint32_t samples;
  };
  std::filesystem::path path_of(std::uint64_t seq) const;
  void move_aside(std::uint64_t seq, const std::string& why);
  void forget(std::uint64_t seq);

  std::filesystem::path dir_;
  std::uint64_t max_bytes_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<std::uint64_t, Entry> index_;
  std::uint64_t bytes_ = 0;
  std::uint64_t samples_ = 0;
  std::uint64_t corrupt_ = 0;
  std::uint64_t dropped_ = 0;
  std::optional<std::uint64_t> pinned_;
};

}  // namespace tocsin::remote_write
