#include "app/config_hints.hpp"

#include "tocsin/rules/family_hints.hpp"

namespace tocsin::app {

void hint_family_coverage(const config::Config& config, const std::vector<rules::GroupDefinition>& groups,
                          yaml::Diagnostics& diagnostics) {
  std::vector<rules::FamilySource> sources;
  for (const collectors::Instance& instance : config.collectors.instances) {
    sources.push_back({std::string(instance.kind->name), instance.common().name, instance.position,
                       instance.path, collectors::family_patterns(instance)});
  }
  rules::hint_family_coverage(groups, sources, diagnostics);
}

}  // namespace tocsin::app
