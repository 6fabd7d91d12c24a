#include "tocsin/collectors/collector.hpp"

#include <nlohmann/json.hpp>

namespace tocsin::collectors {

nlohmann::json Collector::details() const { return nullptr; }

}  // namespace tocsin::collectors
