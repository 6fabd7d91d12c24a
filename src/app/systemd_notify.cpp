#include "app/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tocsin::app {

SystemdNotifier::SystemdNotifier() {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return;
  socket_path_ = path;
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    char* end = nullptr;
    long long v = std::strtoll(usec, &end, 10);
    if (end != usec && v > 0) watchdog_ = std::chrono::milliseconds(v / 1000 / 2);
  }
}

void SystemdNotifier::notify(const std::string& state) const {
  if (socket_path_.empty()) return;
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::size_t len = std::min(socket_path_.size(), sizeof(addr.sun_path) - 1);
  std::memcpy(addr.sun_path, socket_path_.data(), len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
           static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  ::close(fd);
}

}  // namespace tocsin::app
