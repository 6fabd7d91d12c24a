#pragma once
// Values and links as the status page shows them to a person: a value by its unit where known
// (seconds "1.2s", bytes "1.5 GiB", ratios "99.91%"), otherwise Prometheus's `humanize` (SI
// suffixes, 4 significant digits); links only for http:// and https:// URLs.

#include <string>
#include <string_view>

namespace tocsin::http {

enum class Unit { none, seconds, bytes, ratio, percent };

// Prometheus's `humanize`: 1234 -> "1.234k", 0.00123 -> "1.23m", -1633810095581.536 -> "-1.634T".
std::string humanize(double v);
// Prometheus's `humanizeDuration` for seconds, briefer: "350ms", "1.2s", "3m 20s", "2d 4h 1m 0s".
std::string humanize_seconds(double v);
// Powers of 1024: 1610612736 -> "1.5 GiB", 512 -> "512 B".
std::string humanize_bytes(double v);
// A ratio 0..1 as percent: 0.9990593978609388 -> "99.91%". `percent` takes 0..100.
std::string humanize_ratio(double v);
std::string humanize_value(double v, Unit unit);

// The unit a rule's value is in: an explicit `unit` annotation or label ("seconds", "bytes",
// "ratio", "percent"), else the metric-name suffixes in its expression (`_seconds`, `_bytes`,
// `_ratio`, `_percent`; not `_seconds_total`, whose rate is a ratio). Unit::none when unknown or
// mixed.
Unit unit_from_name(std::string_view name);
Unit unit_of(std::string_view explicit_unit, std::string_view expr);

// HTML-escaped text (& < > " ').
std::string html_escape(std::string_view s);
// True for an absolute http:// or https:// URL (case-insensitive scheme) with no control characters.
bool is_web_link(std::string_view url);
// <a href="url">text</a> for a web link; otherwise the escaped text followed by the escaped URL
// as text (so `javascript:` and `data:` URLs are never links).
std::string link_html(std::string_view url, std::string_view text);

}  // namespace tocsin::http
