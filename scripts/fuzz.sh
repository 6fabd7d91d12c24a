#!/usr/bin/env bash
# Builds tocsin's libFuzzer targets (fuzz/) with clang into build-fuzz/ (or $TOCSIN_FUZZ_BUILD_DIR) and
# runs each for SECONDS (default 30) on a fresh copy of its seed corpus (fuzz/corpus/<name>/), with its
# dictionary when it has one (fuzz/<name>.dict). Prints target | runs | seconds | crashes; exits 1 when
# any target crashed, hung (-timeout=10) or ran out of memory (-rss_limit_mb=2048), the inputs kept in
# build-fuzz/crashes/<name>/. docs/reliability.md, Fuzzing.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 3600 promql template
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
all=(promql template rule_file config unit_test_file redis_info redis_slowlog exposition kubelet http_request
     alert_state store_snapshot)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
build_dir=${TOCSIN_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${TOCSIN_FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (scripts/install-deps.sh installs clang)" >&2; exit 2; }

launcher=()
if command -v ccache >/dev/null; then
  ccache --set-config=hash_dir=false >/dev/null 2>&1 || true
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# Only the libraries the targets link, at -O1 without debug information (the fuzzer needs coverage, not
# speed, and the build stays small for CI); no tests, benchmarks or warnings-as-errors (clang's warnings
# are not the g++ build's).
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="${TOCSIN_FUZZ_CXXFLAGS:--O1 -g0}" -DTOCSIN_FUZZ=ON -DTOCSIN_BUILD_TESTS=OFF \
  -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_UNITY_BUILD=ON "${launcher[@]}" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build_dir" -j"$(nproc)" --target "${build_targets[@]}"

mkdir -p "$build_dir/crashes" "$build_dir/logs"
failed=0
rows=()
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"
  crashes="$build_dir/crashes/$t"
  log="$build_dir/logs/$t.log"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$crashes"
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$corpus/"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  before=$(find "$crashes" -type f | wc -l)
  start=$(date +%s)
  rc=0
  "$build_dir/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  found=$(($(find "$crashes" -type f | wc -l) - before))
  if [ "$rc" -ne 0 ] && [ "$found" -eq 0 ]; then found=1; fi  # died without writing an input
  if [ "$found" -gt 0 ]; then
    failed=1
    echo "fuzz.sh: $t failed (exit $rc); log $log, inputs in $crashes/:" >&2
    grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2 || tail -5 "$log" >&2
  fi
  rows+=("$(printf '%-16s | %12s | %7s | %s' "$t" "${runs:-?}" "$took" "$found")")
done
printf '%-16s | %12s | %7s | %s\n' target runs seconds crashes
for r in "${rows[@]}"; do echo "$r"; done
exit "$failed"
