#include "tocsin/core/file_read.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace tocsin {

namespace {

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string format_byte_size(std::size_t bytes) {
  if (bytes >= (std::size_t(1) << 30) && bytes % (std::size_t(1) << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (std::size_t(1) << 20) && bytes % (std::size_t(1) << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (std::size_t(1) << 10) && bytes % (std::size_t(1) << 10) == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                             std::string& error) {
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
  if (file.fd < 0) {
    const int saved = errno;
    error = std::strerror(saved);
    errno = saved;
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    const int saved = errno;
    error = std::strerror(saved);
    errno = saved;
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = std::string("not a regular file (") + file_type_name(st.st_mode) + ")";
    errno = EINVAL;
    return std::nullopt;
  }
  const auto too_large = [&] {
    error = "larger than " + format_byte_size(max_bytes);
    errno = EFBIG;
    return std::nullopt;
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) return too_large();
  std::string out;
  out.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_bytes) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == out.size()) {
      if (used > max_bytes) return too_large();
      out.resize(std::min(max_bytes + 1, std::max<std::size_t>(out.size() * 2, 4096)));
    }
    const ssize_t n = ::read(file.fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      error = std::strerror(saved);
      errno = saved;
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_bytes) return too_large();
  out.resize(used);
  return out;
}

}  // namespace tocsin
