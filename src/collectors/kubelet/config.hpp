#pragma once
// Configuration of a kubelet collector instance (collectors.kubelet[i]); the keys are documented in
// src/collectors/kubelet/README.md.

#include <chrono>
#include <cstdint>
#include <string>

#include "tocsin/collectors/common.hpp"

namespace tocsin::config {

// How the kubelet's serving certificate is checked.
struct KubeletTlsConfig {
  // The cluster CA a pod sees; the kubelet's certificate is signed by it when the cluster runs with
  // serverTLSBootstrap (kubeadm's default is a self-signed kubelet certificate: give its CA instead).
  std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string server_name;            // the name checked (and SNI); default: the URL's host
  bool insecure_skip_verify = false;  // accept any certificate; logged as a warning at start
};

struct KubeletCollectorConfig {
  CollectorCommon common{.name = "kubelet"};
  std::string url = "https://localhost:10250/stats/summary";
  // Read every cycle (projected service-account tokens rotate); "" sends no Authorization header.
  std::string bearer_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  KubeletTlsConfig tls;
  // For the whole request, connect to last byte; never longer than what is left of the cycle.
  Duration request_timeout = std::chrono::seconds(10);
  // A longer summary is an error: a node with 110 pods sends about 1 MiB.
  std::uint64_t max_response_bytes = 64u << 20;
};
void decode(const yaml::Node& node, KubeletCollectorConfig& out);

}  // namespace tocsin::config
