#pragma once
// write_relabel_configs: Prometheus's relabelling, the scrape collector's implementation.

#include <vector>

#include "collectors/scrape/relabel.hpp"
#include "tocsin/remote_write/config.hpp"

namespace tocsin::remote_write {

struct RelabelRules {
  std::vector<collectors::scrape::RelabelRule> rules;  // compiled
};

}  // namespace tocsin::remote_write
