#pragma once
// Label names the cgroup collector sets on some series (cAdvisor's): refused as static labels.

#include <string_view>

namespace tocsin::collectors::cgroup {

inline constexpr std::string_view kOwnLabels[] = {"cpu", "device", "id", "name"};

}  // namespace tocsin::collectors::cgroup
