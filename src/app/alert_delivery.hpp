#pragma once
// The daemon's wiring of alerting/: the dispatcher (receivers, their HTTP client, the state and the
// outbox in state_dir) built from the config, the sink the rule engine sends alert transitions to,
// and the alerts and silences API and the status page on the daemon's router.

#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "tocsin/alerting/alert.hpp"
#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/config/config.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/http/router.hpp"
#include "tocsin/http/status_page.hpp"

namespace tocsin::app {

// The base of links to this daemon ($externalURL in templates, links in notifications): the config's
// external_url, else http://<listen address>, a wildcard address replaced by the host name.
// `listen_override` is --listen's (empty: the config's address).
std::string external_url_for(const config::Config& config, const std::string& listen_override);

// Owns the dispatcher for the daemon's lifetime. Construction never throws: a failure (state_dir
// not writable) is reported by start(), and until then sink() takes alerts and drops them.
// Not thread-safe: the daemon calls it from the thread that runs its io_context (and, before that runs,
// from the one that sets it up); the dispatcher serialises its own work.
class AlertDelivery {
 public:
  // `listen_override` is --listen's (empty: the config's address), for the links in notifications.
  AlertDelivery(const config::Config& config, const std::string& listen_override, const Clock& clock,
                prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log);
  ~AlertDelivery();
  AlertDelivery(const AlertDelivery&) = delete;
  AlertDelivery& operator=(const AlertDelivery&) = delete;

  // What the rule engine sends alerts to; never null, valid as long as this object.
  alerting::AlertSink* sink();
  // The alerts and silences API and the status page at /, which shows `collectors` too. Call before
  // other /api/v1/alerts routes are added. Adds nothing when the dispatcher could not be built.
  void add_routes(http::Router& router, const Clock& clock, http::CollectorStatusSource collectors,
                  http::SloStatusSource slos = {}, http::StatusPageExtras extras = {});
  // Starts delivery. Returns an error message, empty on success.
  std::string start();
  // Applies a new config's alerting section (receivers, routes, policies) and external URL.
  void reload(const config::Config& config);
  // Stops delivery; idempotent, and done by the destructor too.
  void stop();

 private:
  class NullSink;
  std::unique_ptr<alerting::Dispatcher> dispatcher_;
  std::unique_ptr<alerting::AlertSink> null_sink_;
  std::string error_;
  std::string listen_override_;
};

}  // namespace tocsin::app
