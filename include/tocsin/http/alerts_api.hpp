#pragma once
// The alerts API, in Prometheus's shapes where Prometheus has one:
//   GET    /api/v1/alerts                  alerts with escalation step, ack, silence and inhibition
//                                          (pending and firing; ?state=firing|pending|resolved|all,
//                                          ?filter=<matcher> repeated)
//   GET    /api/v1/alerts/{id}
//   POST   /api/v1/alerts/{id}/ack         {"by", "comment", "expires": "1h" | "expiresAt": RFC 3339}
//   DELETE /api/v1/alerts/{id}/ack
//   GET    /api/v1/silences                (?all=true includes expired ones)
//   POST   /api/v1/silences                Alertmanager's silence body, or matchers as strings and
//                                          "duration" instead of "endsAt"
//   GET    /api/v1/silences/{id}
//   DELETE /api/v1/silences/{id}           expires it
// Mutating calls need `Authorization: Bearer <alerting.api_token>`; without a configured token they
// answer 403.

#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/http/router.hpp"

namespace tocsin::http {

void add_alerts_api(Router& router, alerting::Dispatcher& dispatcher, const Clock& clock);

// Prometheus's float formatting in API values ("4.2e+01").
std::string format_api_value(double v);

}  // namespace tocsin::http
