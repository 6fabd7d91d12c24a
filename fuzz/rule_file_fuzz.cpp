// Rule files (groups, rules, tiers, SLOs): decoded with every error in the diagnostics, never a throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tocsin/rules/rule_file.hpp"
#include "tocsin/yaml/diagnostics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tocsin::yaml::Diagnostics diagnostics;
  (void)tocsin::rules::parse_rule_text(text, "fuzz.rules.yml", diagnostics);
  for (const auto& d : diagnostics.items()) (void)d.to_string();
  return 0;
}
