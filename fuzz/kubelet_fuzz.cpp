// The kubelet collector's reader of /stats/summary JSON. What it throws for malformed JSON or a
// document of the wrong shape is a std::runtime_error with the reason.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "collectors/kubelet/summary.hpp"
#include "tocsin/store/batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  tocsin::store::Batch batch;
  try {
    (void)tocsin::collectors::kubelet::convert_summary(json, batch);
  } catch (const tocsin::collectors::kubelet::SummaryError&) {
  }
  double seconds = 0;
  (void)tocsin::collectors::kubelet::parse_rfc3339(json, seconds);
  return 0;
}
