#pragma once
// Label names the cgroup collector sets on some series (cAdvisor's): refused as static labels.

#include <string_view>

namespace tocsin::collectors::cgroup {

inline constexpr std::string_view kOwnLabels[] = {"cpu", "device", "id", "name"};

// The families it produces (Kind::families): cAdvisor's, and its own bounds and errors.
inline constexpr std::string_view kFamilies[] = {"container_*", "tocsin_cgroup_*"};

}  // namespace tocsin::collectors::cgroup
