#pragma once
// The systemd notify protocol (sd_notify(3)) without libsystemd: datagrams to $NOTIFY_SOCKET.

#include <chrono>
#include <optional>
#include <string>

namespace tocsin::app {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC; inactive when NOTIFY_SOCKET is unset.
  SystemdNotifier();
  bool active() const { return !socket_path_.empty(); }
  // Sends e.g. "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...". Errors are ignored:
  // systemd notification is best-effort.
  void notify(const std::string& state) const;
  // Half the watchdog timeout when systemd asked for keep-alives, as sd_watchdog_enabled advises.
  std::optional<std::chrono::milliseconds> watchdog_interval() const { return watchdog_; }

 private:
  std::string socket_path_;
  std::optional<std::chrono::milliseconds> watchdog_;
};

}  // namespace tocsin::app
