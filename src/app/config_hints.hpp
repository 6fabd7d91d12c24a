#pragma once
// The hints `tocsin check` and the daemon (at start-up and on reload) give on a config and its rules:
// rules selecting families no configured collector produces, collectors no rule reads
// (rules::hint_family_coverage, fed with the configured instances' families).

#include "tocsin/config/config.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::app {

void hint_family_coverage(const config::Config& config, const std::vector<rules::GroupDefinition>& groups,
                          yaml::Diagnostics& diagnostics);

}  // namespace tocsin::app
