#!/usr/bin/env bash
# Installs what tocsin needs to build, test and run its demo on Debian 12. Idempotent: does nothing
# (and needs no network) when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-format clang-tidy
  clang libclang-rt-14-dev
  libboost-dev libboost-system-dev prometheus-cpp-dev libpqxx-dev libhiredis-dev libyaml-cpp-dev
  libspdlog-dev nlohmann-json3-dev libre2-dev libssl-dev libcrypt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql postgresql-contrib redis-server
  prometheus prometheus-alertmanager curl
  ruby-sidekiq python3-rq python3-celery
  python3-prometheus-client prometheus-node-exporter zlib1g-dev
  libprotobuf-dev protobuf-compiler libsnappy-dev
  iproute2
  file man-db dpkg-dev systemd adduser
)
# Extra packages for the peer-exporter benchmarks and the status-page screenshot; best effort.
optional=(prometheus-postgres-exporter prometheus-redis-exporter chromium)

missing=()
for p in "${packages[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  # Debian starts the packaged servers on install; tocsin's tests and demo run their own.
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for opt in "${optional[@]}"; do
    dpkg-query -W -f='${Status}' "$opt" 2>/dev/null | grep -q "install ok installed" ||
      $sudo_cmd apt-get install -y -qq --no-install-recommends "$opt" >/dev/null 2>&1 || true
  done
fi
