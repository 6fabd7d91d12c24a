#pragma once
// Alert delivery in the binary: the daemon's wiring of alerting/ (AlertDelivery), and the commands
// on-call types, which talk to a running daemon's API:
//   tocsin alerts   [--state firing|pending|resolved] [--filter MATCHER]... [--json]
//   tocsin ack ID   --by NAME [--comment TEXT] [--expires DURATION] [--undo]
//   tocsin silence  add MATCHER... (--duration D | --until TIME) --by NAME [--comment TEXT]
//   tocsin silence  list [--all] | expire ID
// each with [--url URL] [--config FILE] [--token-file FILE].

#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/collectors/scheduler.hpp"
#include "tocsin/config/config.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/http/router.hpp"

namespace tocsin::app {

// Owns the dispatcher for the daemon's lifetime. Construction never throws: a failure (state_dir
// not writable) is reported by start().
class AlertDelivery {
 public:
  AlertDelivery(const config::Config& config, const std::string& listen_override, const Clock& clock,
                prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log);
  ~AlertDelivery();

  // What the rule engine sends alerts to; never null.
  alerting::AlertSink* sink();
  // The alerts and silences API and the status page at /. Call before other /api/v1/alerts routes.
  void add_routes(http::Router& router, const Clock& clock, const collectors::Scheduler& scheduler);
  // Returns an error message, empty on success.
  std::string start();
  void reload(const config::Config& config);
  void stop();

 private:
  class NullSink;
  std::unique_ptr<alerting::Dispatcher> dispatcher_;
  std::unique_ptr<alerting::AlertSink> null_sink_;
  std::string error_;
  std::string listen_override_;
};

bool is_alerts_command(const std::string& command);
// `args` as run_cli gets them (args[0] is the command). Exit status 0 ok, 1 the daemon failed or
// could not be reached, 2 bad usage.
int run_alerts_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tocsin::app
