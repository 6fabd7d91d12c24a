#pragma once
// The daemon's logger: human-readable lines on a terminal, JSON lines with --log-format json.

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace tocsin::app {

// format: "text" or "json"; level: trace, debug, info, warn, error. Logs go to stderr (journald
// picks them up under systemd).
std::shared_ptr<spdlog::logger> make_logger(const std::string& format, const std::string& level);
void set_level(spdlog::logger& logger, const std::string& level);

}  // namespace tocsin::app
