// The alert state file (state_dir/alerts.json) as the rule manager reads it at start: the file read and
// checked, then each group entry restored into a group of tiered and plain alerting rules, and saved
// again. A file that cannot be used is Loaded::error; an entry of the wrong shape throws std::exception
// (the manager then moves the file aside); anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

#include "fuzz_file.hpp"
#include "tocsin/rules/group.hpp"
#include "tocsin/rules/rule_file.hpp"
#include "tocsin/rules/state_file.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace {

constexpr const char* kRules = R"(groups:
  - name: fuzz
    rules:
      - alert: Tiered
        expr: up
        tiers:
          warning:  { above: 0.5, for: 1m }
          critical: { above: 0.9, for: 30s }
        clear: { below: 0.4, for: 1m }
      - alert: Plain
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
      - record: job:up:sum
        expr: sum by (job) (up)
)";

const tocsin::rules::GroupDefinition& definition() {
  static const tocsin::rules::GroupDefinition def = [] {
    tocsin::yaml::Diagnostics diagnostics;
    auto groups = tocsin::rules::parse_rule_text(kRules, "fuzz.rules.yml", diagnostics);
    if (!diagnostics.empty() || groups.size() != 1) throw std::logic_error(diagnostics.to_string());
    return groups.front();
  }();
  return def;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = tocsin::fuzz::input_path("alerts.json");
  tocsin::fuzz::write_input(path, reinterpret_cast<const char*>(data), size);
  tocsin::rules::AlertStateFile file;
  file.set_path(path);
  const auto loaded = file.read();
  if (!loaded.found || !loaded.error.empty()) return 0;
  for (const auto& entry : loaded.groups) {
    tocsin::rules::Group group(definition(), std::chrono::seconds(15));
    try {
      if (!entry.is_object()) continue;
      group.restore_state(entry);
    } catch (const std::exception&) {
    }
    (void)group.active_alerts();
    (void)group.save_state().dump();
  }
  return 0;
}
