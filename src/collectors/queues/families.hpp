#pragma once
// Label names the queues collector sets on its series: sidekiq-prometheus-exporter's (`name`, `host`,
// `quiet`) and tocsin's own queue labels. Refused as static labels.

#include <string_view>

namespace tocsin::collectors::queues {

inline constexpr std::string_view kOwnLabels[] = {
    "group", "host", "name", "problem", "queue", "quiet", "system",
};

// The families it produces (Kind::families): sidekiq-prometheus-exporter's and tocsin's own.
inline constexpr std::string_view kFamilies[] = {"sidekiq_*", "rq_*", "celery_*", "tocsin_queue_*",
                                                 "tocsin_sidekiq_*"};

// The `system` label values.
inline constexpr std::string_view kSidekiq = "sidekiq";
inline constexpr std::string_view kCelery = "celery";
inline constexpr std::string_view kRq = "rq";
inline constexpr std::string_view kList = "list";
inline constexpr std::string_view kStream = "stream";

}  // namespace tocsin::collectors::queues
