#pragma once
// The Prometheus text exposition format 0.0.4 of the store's newest samples.

#include <string>

#include "tocsin/store/store.hpp"

namespace tocsin::store {

inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Appends one `# HELP` and `# TYPE` per family and one line per series (newest non-stale sample, no
// timestamp), families sorted by name, series by labels; label values and help text escaped.
void render_exposition(const Store& store, std::string& out);

// Appends a float as the exposition format and PromQL print it: shortest round-trip form, +Inf,
// -Inf, NaN.
void append_value(std::string& out, double v);

}  // namespace tocsin::store
