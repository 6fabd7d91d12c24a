#pragma once
// The scheduler's entry for one collector instance: the collector, its interval and deadline, and
// the identity labels added to its series. Built by make_spec() (kind.hpp), run by the Scheduler.

#include <memory>

#include "tocsin/collectors/collector.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::collectors {

struct CollectorSpec {
  std::unique_ptr<Collector> collector;
  Duration interval;
  Duration timeout;   // the cycle's deadline
  Labels identity{};  // added to every series the collector produces (kind.hpp, identity_labels)
  // Series one cycle may commit (the instance's sample_limit; 0: none): Store::commit's sample_limit.
  std::size_t sample_limit = 0;
};

}  // namespace tocsin::collectors
