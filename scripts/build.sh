#!/usr/bin/env bash
# Configures and builds tocsin into build/ (or $TOCSIN_BUILD_DIR) with ccache. Extra arguments go
# to CMake, e.g. scripts/build.sh -DTOCSIN_SANITIZE=ON; TOCSIN_TARGET=tocsin builds one target.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${TOCSIN_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then
  ccache --set-config=hash_dir=false >/dev/null 2>&1 || true
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# One configuration for the test command, the demo and CI alike (warnings are errors everywhere: the
# compiler is Debian 12's g++), so whichever runs second reuses the other's build instead of
# reconfiguring and rebuilding the tree. Unity batches (with -g1 and unoptimised test code) take a clean
# build to under half its former time (docs/performance.md, Build time);
# pass -DTOCSIN_UNITY_BUILD=OFF when editing one file at a time.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOCSIN_WERROR=ON -DTOCSIN_UNITY_BUILD=ON \
  "${launcher[@]}" "$@" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" ${TOCSIN_TARGET:+--target "$TOCSIN_TARGET"}
