// The daemon's config file: a Config or every error at once, never a throw. No environment: ${VAR}
// references are errors.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "tocsin/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto no_env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto result = tocsin::config::parse_config(text, "/nonexistent/fuzz/tocsin.yml", no_env);
  if (auto* d = std::get_if<tocsin::yaml::Diagnostics>(&result)) {
    for (const auto& item : d->items()) (void)item.to_string();
  }
  return 0;
}
