#include "app/alert_delivery.hpp"

#include <unistd.h>

#include <utility>
#include <vector>

#include "tocsin/http/alerts_api.hpp"

namespace tocsin::app {

// Links in notifications need an address others can reach: a wildcard listen address becomes the
// host name. The config's external_url, when set, is used instead.
std::string external_url_for(const config::Config& config, const std::string& listen_override) {
  const std::string address = listen_override.empty() ? config.listen.to_string() : listen_override;
  if (!config.external_url.empty()) {
    std::string url = config.external_url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  config::ListenAddress listen;
  if (config::parse_listen_address(address, listen)) return "http://" + address;
  if (listen.host == "0.0.0.0" || listen.host == "::") {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0') listen.host = name;
  }
  return "http://" + listen.to_string();
}

class AlertDelivery::NullSink final : public alerting::AlertSink {
 public:
  void send(const std::string&, std::span<const alerting::Alert>, Timestamp) override {}
};

AlertDelivery::AlertDelivery(const config::Config& config, const std::string& listen_override,
                             const Clock& clock, prometheus::Registry& registry,
                             std::shared_ptr<spdlog::logger> log) {
  alerting::DispatcherOptions options;
  options.state_dir = config.state_dir;
  options.external_url = external_url_for(config, listen_override);
  listen_override_ = listen_override;
  try {
    dispatcher_ =
        std::make_unique<alerting::Dispatcher>(config.alerting, options, clock, registry, std::move(log));
  } catch (const std::exception& e) {
    error_ = std::string("cannot start alert delivery: ") + e.what();
    null_sink_ = std::make_unique<NullSink>();
  }
}

AlertDelivery::~AlertDelivery() { stop(); }

alerting::AlertSink* AlertDelivery::sink() {
  return dispatcher_ ? static_cast<alerting::AlertSink*>(dispatcher_.get()) : null_sink_.get();
}

void AlertDelivery::add_routes(http::Router& router, const Clock& clock,
                               http::CollectorStatusSource collectors, http::SloStatusSource slos,
                               http::StatusPageExtras extras) {
  if (!dispatcher_) return;
  http::add_alerts_api(router, *dispatcher_, clock);
  http::add_status_page(router, *dispatcher_, clock, std::move(collectors), std::move(slos),
                        std::move(extras));
}

std::string AlertDelivery::start() {
  if (!dispatcher_) return error_;
  dispatcher_->start();
  return "";
}

void AlertDelivery::reload(const config::Config& config) {
  if (dispatcher_) dispatcher_->reload(config.alerting, external_url_for(config, listen_override_));
}

void AlertDelivery::stop() {
  if (dispatcher_) dispatcher_->stop();
}

}  // namespace tocsin::app
