#pragma once
// Every collector kind tocsin has. The config decoder asks it which `collectors:` keys exist; the
// daemon builds instances through each Kind's make(). Adding a kind: docs/architecture.md.

#include <span>
#include <string_view>

#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// In the order their instances are listed in the config and started.
std::span<const Kind* const> registry();
// The kind named `name`, or nullptr.
const Kind* find_kind(std::string_view name);

}  // namespace tocsin::collectors
