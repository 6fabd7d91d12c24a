#pragma once
// The cgroup collector's I/O: finding the cgroups to watch (discover) and reading their files into a
// batch (read), apart so that tests can change the tree between the two, as a cgroup removed
// mid-cycle does. Not thread-safe: one reader per collector instance, used by one cycle at a time.

#include <spdlog/logger.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "collectors/cgroup/config.hpp"
#include "collectors/cgroup/parsers.hpp"
#include "tocsin/collectors/problem_log.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::cgroup {

class Emitter;  // adds one cgroup's samples (reader.cpp)

enum class Hierarchy { unified, v1 };  // v1 also covers the hybrid (v1 controllers + a unified mount)

// One cgroup to read. `id` is its path ("/" for the root); on v1 each controller may place the same
// process elsewhere (tocsin's own cgroup), so every controller has its own path.
struct Target {
  std::string id;
  std::string cpu, cpuacct, memory, pids, unified;  // v1 paths per controller; v2 uses `unified`
};

class Reader {
 public:
  // Throws CollectError when the root is not a cgroup mount (no cgroup.controllers and no v1
  // controller directories).
  Reader(const config::CgroupCollectorConfig& config, std::shared_ptr<spdlog::logger> log);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  Hierarchy hierarchy() const { return hierarchy_; }

  // tocsin's own cgroup (when `self`), then the cgroups the patterns and units match, sorted by path
  // and capped at max_cgroups. Walks only the subtrees a pattern can match.
  std::vector<Target> discover();
  // Reads each target's files; a file that is missing (controller not enabled, cgroup gone) leaves
  // its metrics out, an unreadable or malformed one is logged once and counted.
  void read(const std::vector<Target>& targets, store::Batch& out);

  std::size_t matched() const { return matched_; }  // by the patterns, before the cap
  std::size_t dropped() const { return dropped_; }  // over the cap, in the last discover()
  std::uint64_t read_errors() const { return read_errors_; }
  // Descriptors kept open between cycles, and the most there may be (max_open_files, capped at half
  // the RLIMIT_NOFILE soft limit when the reader was made).
  std::size_t open_files() const { return open_files_; }
  std::size_t open_files_budget() const { return budget_; }

  // One cgroup directory's descriptors. Cached ones (in dirs_) stay open between cycles: cgroupfs
  // regenerates a file's content on every read from offset 0, so a pread(2) at 0 replaces
  // openat + read + close. The directory's own descriptor pins its inode, so a directory removed and
  // re-created under the same path has a different (dev, ino) and is reopened.
  struct Dir {
    struct File {
      const char* name;  // a literal of the read_* functions
      int fd;
    };
    int dirfd = -1;
    dev_t dev = 0;
    ino_t ino = 0;
    std::vector<File> files;
    std::uint64_t cycle = 0;  // the last read() that used it
    bool cached = false;      // in dirs_ (counted in open_files_) or the one-cycle scratch_
  };

 private:
  void walk(const std::string& dir, const std::string& rel, int depth, std::set<std::string>& found);
  void read_v2(const Target& t, Emitter& emit);
  void read_v1(const Target& t, Emitter& emit);
  void read_pressure(Dir& d, const std::string& dir, Emitter& emit);
  // The descriptors of directory `path` for this cycle: the cached ones when its (dev, ino) is
  // unchanged, else freshly opened (cached while the budget allows, else scratch_). nullptr when the
  // directory is gone (quiet) or cannot be opened (reported).
  Dir* enter(const std::string& path);
  void leave(Dir* d);  // closes scratch_; cached directories stay open
  struct Entered {     // leave()s at the end of a scope
    Entered(Reader& r, Dir* d) : reader(r), dir(d) {}
    ~Entered() {
      if (dir != nullptr) reader.leave(dir);
    }
    Entered(const Entered&) = delete;
    Entered& operator=(const Entered&) = delete;
    Reader& reader;
    Dir* dir;
  };
  void close_dir(Dir& d);

 public:
  // The label sets of one cgroup's samples, kept between cycles: handing the store the same sets
  // each cycle lets it find the series without hashing or comparing them (Batch::set_labels_cached).
  struct CgroupLabels {
    std::vector<Labels> plain;  // per family, built on first use
    struct Extra {
      std::size_t family;
      const char* name;  // "cpu" or "device"
      std::string value;
      Labels labels;
    };
    std::vector<Extra> extra;  // cpu="total" and the per-device ones
    std::uint64_t cycle = 0;   // the last read() that used it
  };

 private:
  // Reads `file` of `d` (the directory `dir`) into buffer_; false (and `text` empty) when it cannot.
  // ENOENT and ENODEV (the cgroup or its controller is gone) are quiet; other errors are reported
  // under the file's name. A cached descriptor that fails with ENODEV/ENOENT/ESTALE is reopened once.
  bool read_file(Dir& d, const std::string& dir, const char* file, std::string_view& text);
  // The whole content of `fd` from offset 0 into buffer_: 0, or the errno (EFBIG: over kMaxFileBytes).
  int read_fd(int fd, std::size_t& used);
  void fail(const char* file, const std::string& message);
  const std::string& device_name(unsigned major, unsigned minor);

  config::CgroupCollectorConfig config_;
  Hierarchy hierarchy_ = Hierarchy::unified;
  std::string cpu_root_, cpuacct_root_, memory_root_, pids_root_, unified_root_;  // "" when absent
  std::vector<std::string> globs_;  // patterns, then units as **/<unit>
  ProblemLog problems_;
  std::string buffer_;
  std::size_t matched_ = 0;
  std::size_t dropped_ = 0;
  std::uint64_t read_errors_ = 0;
  std::set<std::string, std::less<>> failing_now_;  // files that failed in this cycle
  std::set<std::string, std::less<>> failing_;      // files that failed in the last cycle
  std::map<std::uint64_t, std::string> devices_;    // MAJ:MIN -> "/dev/<name>" (or "MAJ:MIN")
  std::vector<bool> described_;                     // per family: described in this cycle's batch
  double user_hz_ = 100.0;
  std::unordered_map<std::string, Dir> dirs_;             // directory path -> its cached descriptors
  std::unordered_map<std::string, CgroupLabels> labels_;  // cgroup id -> its samples' label sets
  Dir scratch_;                 // a directory read past the budget, closed after use
  std::size_t open_files_ = 0;  // descriptors in dirs_
  std::size_t budget_ = 0;
  std::uint64_t cycle_ = 0;
  std::vector<KeyValue> keys_;    // parse_flat_keyed's storage, reused
  std::size_t last_samples_ = 0;  // the previous cycle's batch size, to reserve the next one
};

}  // namespace tocsin::collectors::cgroup
