#pragma once
// `tocsin run`: wires store, scheduler, HTTP server and signals, and owns the process lifecycle
// (start, reload on SIGHUP or POST /-/reload, graceful stop on SIGTERM/SIGINT within 5 s).

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "tocsin/config/config.hpp"

namespace tocsin::app {

struct DaemonOptions {
  std::string config_path;
  std::string log_format_override;       // from --log-format; empty: the config's
  std::string listen_override;           // from --listen; empty: the config's
  std::string compat_override;           // from --compat; empty: the config's
  std::string web_config_file_override;  // from --web.config.file; empty: the config's web.config_file
  bool enable_lifecycle = false;         // --web.enable-lifecycle (or the config's web.enable_lifecycle)
};

// Runs until stopped by a signal. Returns the process exit status: 0 after a clean stop, 1 when
// the daemon could not start (e.g. the listen address is taken).
int run_daemon(const DaemonOptions& options, config::Config config);

}  // namespace tocsin::app
