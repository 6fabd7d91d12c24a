// The scrape collector's exposition parser: the first byte picks the format (even: the text format,
// odd: OpenMetrics), the rest is the body. Errors are ExpositionError with a line and column.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/scrape/exposition.hpp"

namespace scrape = tocsin::collectors::scrape;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto format = (data[0] & 1) != 0 ? scrape::Format::openmetrics : scrape::Format::text;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    scrape::ExpositionParser parser(body, format);
    scrape::Entry entry;
    while (parser.next(entry)) {
      for (const auto& label : entry.labels) (void)label.value.size();
    }
  } catch (const scrape::ExpositionError&) {
  }
  return 0;
}
