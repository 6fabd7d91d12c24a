#pragma once
// Label names the scrape collector sets itself (Prometheus's target labels): refused as static
// labels. The report series it writes for every target, as Prometheus names them.

#include <string_view>

namespace tocsin::collectors::scrape {

inline constexpr std::string_view kOwnLabels[] = {"job", "instance"};

inline constexpr std::string_view kUp = "up";
inline constexpr std::string_view kDuration = "scrape_duration_seconds";
inline constexpr std::string_view kSamplesScraped = "scrape_samples_scraped";
inline constexpr std::string_view kSamplesPostRelabel = "scrape_samples_post_metric_relabeling";
inline constexpr std::string_view kSeriesAdded = "scrape_series_added";

}  // namespace tocsin::collectors::scrape
