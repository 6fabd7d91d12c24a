// `tocsin test`'s test files (promtool's format): decoded with every error in the diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tocsin/rules/unit_test.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tocsin::yaml::Diagnostics diagnostics;
  (void)tocsin::rules::detail::decode_unit_test_text(text, "fuzz_test.yml", diagnostics);
  for (const auto& d : diagnostics.items()) (void)d.to_string();
  return 0;
}
