#pragma once
// The state_dir's lock: one daemon per state_dir. Two daemons on one directory would overwrite each
// other's alert state, outbox, SLO histories and store snapshot; the second refuses to start and
// names the first.

#include <string>

namespace tocsin::app {

class StateLock {
 public:
  StateLock() = default;
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  ~StateLock();

  // Creates `state_dir` if needed and takes `state_dir/tocsin.lock` (flock, released by the kernel
  // when the process ends, however it ends), writing this process's pid into it. Returns an empty
  // string, or why the lock cannot be had: "state_dir /var/lib/tocsin is in use by another tocsin
  // (pid 1234)".
  std::string acquire(const std::string& state_dir);

 private:
  int fd_ = -1;
};

}  // namespace tocsin::app
