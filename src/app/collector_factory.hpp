#pragma once
// Builds the collector instances a config describes.

#include <spdlog/logger.h>

#include <memory>
#include <vector>

#include "tocsin/collectors/scheduler.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::app {

// Throws std::runtime_error when an instance cannot be built (a config error the decoder could not
// see); collectors never connect here, they connect in their first cycle.
std::vector<collectors::CollectorSpec> make_collectors(const config::Config& config,
                                                       const std::shared_ptr<spdlog::logger>& log);

}  // namespace tocsin::app
