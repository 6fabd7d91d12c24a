#pragma once
// RFC 3339 timestamps as the APIs and receivers print them (UTC, milliseconds).

#include <optional>
#include <string>

#include "tocsin/core/sample.hpp"

namespace tocsin::alerting {

// "2024-03-04T10:00:00.000Z"; 0 gives "0001-01-01T00:00:00Z" (unset, as Alertmanager reads it).
std::string format_rfc3339(Timestamp t);
// Z or ±hh:mm offsets, an optional fraction. nullopt when malformed.
std::optional<Timestamp> parse_rfc3339(const std::string& text);

}  // namespace tocsin::alerting
