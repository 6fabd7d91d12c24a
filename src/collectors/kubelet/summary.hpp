#pragma once
// The kubelet's Summary API document (GET /stats/summary, k8s.io/kubelet/pkg/apis/stats/v1alpha1)
// turned into samples, apart from any I/O so that it is tested on captured documents. README.md lists
// every family with the field it comes from.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::kubelet {

// The document as a whole cannot be used: not JSON (the message has the byte offset), or not the
// shape of a summary (no `node` object, `pods` not a list).
class SummaryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SummaryStats {
  std::size_t pods = 0;        // pods converted
  std::size_t containers = 0;  // containers converted
  // Entries and fields present with a type the API never sends (a string for a number, a pod
  // without podRef): left out. Absent fields (older kubelets) are not counted.
  std::size_t skipped = 0;
  std::string
      first_skipped;  // where the first one was, e.g. "pods[3].containers[0].cpu.usageCoreNanoSeconds"
};

// Parses `json` and adds its samples to `out`. Throws SummaryError, and then adds nothing.
SummaryStats convert_summary(std::string_view json, store::Batch& out);

// Seconds since the epoch of an RFC 3339 time as Go's encoding/json writes metav1.Time
// ("2024-05-01T10:00:00Z", "2024-05-01T12:00:00.25+02:00"); false when it is not one.
bool parse_rfc3339(std::string_view text, double& seconds);

}  // namespace tocsin::collectors::kubelet
