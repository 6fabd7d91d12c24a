#pragma once
// Label names the kubelet collector sets on some series (the kubelet's and cAdvisor's): refused as
// static labels.

#include <string_view>

namespace tocsin::collectors::kubelet {

inline constexpr std::string_view kOwnLabels[] = {
    "container", "interface", "namespace", "persistentvolumeclaim", "pod",
};

}  // namespace tocsin::collectors::kubelet
