#pragma once
// The cgroup collector's I/O: finding the cgroups to watch (discover) and reading their files into a
// batch (read), apart so that tests can change the tree between the two, as a cgroup removed
// mid-cycle does. Not thread-safe: one reader per collector instance, used by one cycle at a time.

#include <spdlog/logger.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
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

 private:
  void walk(const std::string& dir, const std::string& rel, int depth, std::set<std::string>& found);
  void read_v2(const Target& t, Emitter& emit);
  void read_v1(const Target& t, Emitter& emit);
  void read_pressure(int dirfd, const std::string& dir, Emitter& emit);
  // Reads `file` under `dirfd` into buffer_; false (and `text` empty) when it cannot. ENOENT is
  // quiet; other errors are reported under the file's name.
  bool read_file(int dirfd, const std::string& dir, const char* file, std::string_view& text);
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
};

}  // namespace tocsin::collectors::cgroup
