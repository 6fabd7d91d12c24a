#pragma once
// Label names the kubelet collector sets on some series (the kubelet's and cAdvisor's): refused as
// static labels.

#include <string_view>

namespace tocsin::collectors::kubelet {

inline constexpr std::string_view kOwnLabels[] = {
    "container", "interface", "namespace", "persistentvolumeclaim", "pod",
};

// The families it produces (Kind::families): the kubelet's summary API as the kubelet and cAdvisor
// name it.
inline constexpr std::string_view kFamilies[] = {"kubelet_*", "container_*", "pod_*", "node_*",
                                                 "tocsin_kubelet_*"};

}  // namespace tocsin::collectors::kubelet
