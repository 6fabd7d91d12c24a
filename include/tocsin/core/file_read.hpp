#pragma once
// Reading a whole file that a config names (the config itself, rule and test files, *_file secrets,
// state files, snapshots), bounded: only a regular file is read, never a device, a FIFO or a socket
// (/dev/zero would never end, a FIFO would block), and never more than the caller's maximum.
// docs/reliability.md lists the maxima.

#include <cstddef>
#include <optional>
#include <string>

namespace tocsin {

inline constexpr std::size_t kMaxConfigFileBytes = std::size_t(16) << 20;   // config, rule, test files
inline constexpr std::size_t kMaxSecretFileBytes = std::size_t(64) << 10;   // *_file secrets, tokens
inline constexpr std::size_t kMaxStateFileBytes = std::size_t(256) << 20;   // alerts.json, alert state
inline constexpr std::size_t kMaxSnapshotFileBytes = std::size_t(8) << 30;  // the store's snapshot

// The whole content of the regular file at `path`, of at most `max_bytes`. On failure returns nullopt
// with `error` set to why, without the path ("not a regular file (a FIFO)", "larger than 16 MiB",
// strerror's text), and errno set (ENOENT and EACCES as open(2) gave them; EINVAL when not a regular
// file, EFBIG when too large). The file is opened with O_NONBLOCK, so a FIFO is refused without
// blocking, and checked on the open descriptor; reading stops one byte past the maximum, so a file
// whose size lies (/proc) is bounded too.
std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                             std::string& error);

// "16 MiB", "64 KiB", "512 bytes": a maximum as read_regular_file's messages give it.
std::string format_byte_size(std::size_t bytes);

}  // namespace tocsin
