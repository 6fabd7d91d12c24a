#include "app/state_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

namespace tocsin::app {

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);  // the kernel drops the lock with the descriptor
}

std::string StateLock::acquire(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return "cannot create state_dir " + state_dir + ": " + ec.message();
  const std::string path = state_dir + "/tocsin.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    char buf[32];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      std::string_view text(buf, static_cast<std::size_t>(n));
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
      if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
        holder = " (pid " + std::string(text) + ")";
      }
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return "state_dir " + state_dir + " is in use by another tocsin" + holder +
             "; each daemon needs a state_dir of its own";
    }
    return "cannot lock " + path + ": " + std::strerror(err);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  // Without the pid the lock still holds; a second daemon's message just cannot name this one.
  [[maybe_unused]] const bool named =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

}  // namespace tocsin::app
