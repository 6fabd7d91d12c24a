// PromQL parser: any text either parses (and prints) or throws ParseError with a position.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tocsin/promql/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto expr = tocsin::promql::parse(text);
    (void)tocsin::promql::to_string(*expr);
  } catch (const tocsin::promql::ParseError&) {
  }
  return 0;
}
