#!/usr/bin/env bash
# The suite under the sanitizers, each in a build tree of its own (docs/reliability.md, Sanitizers):
#   scripts/sanitize.sh address   AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite
#                                 (build-asan/; every label but packaging, fuzz and soak)
#   scripts/sanitize.sh thread    ThreadSanitizer over the scheduler, store, rules and alerting tests
#                                 (build-tsan/; only their binaries are built)
#   scripts/sanitize.sh           both, address first
# Extra arguments go to ctest (address) or to each GoogleTest binary (thread). Exits non-zero on the
# first report: every sanitizer is set to stop the process at its first finding.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
modes=("${1:-all}")
[ "${modes[0]}" = all ] && modes=(address thread)
shift || true

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
configure() {  # configure DIR SANITIZE
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOCSIN_WERROR=ON -DTOCSIN_UNITY_BUILD=ON \
    -DTOCSIN_BUILD_BENCH=OFF -DTOCSIN_SANITIZE="$2" "${launcher[@]}" >/dev/null
}

# The binaries ThreadSanitizer runs: everything that commits, selects, evaluates or delivers from more
# than one thread. The ones that start the daemon are left to the address run (a TSan daemon is
# 5-15x slower, beyond what the integration tests' waits allow on two cores).
tsan_tests=(scheduler_test problem_log_test store_test alerting_test alerting_api_test
            rules_eval_schedule_test rules_group_test rules_manager_test rules_state_file_test)

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$root/scripts/tsan.supp}

for mode in "${modes[@]}"; do
  case $mode in
    address)
      configure build-asan ON
      cmake --build build-asan -j"$(nproc)"
      start=$(date +%s)
      (cd build-asan && ctest --output-on-failure -j"$(nproc)" --timeout 600 -LE 'packaging|fuzz|soak' "$@")
      echo "sanitize: address+undefined: the suite passed in $(($(date +%s) - start)) s"
      ;;
    thread)
      configure build-tsan thread
      cmake --build build-tsan -j"$(nproc)" --target "${tsan_tests[@]}"
      start=$(date +%s)
      for t in "${tsan_tests[@]}"; do
        bin=$(find build-tsan/tests -type f -name "$t" -perm -u+x | head -1)
        [ -n "$bin" ] || { echo "sanitize: no $t in build-tsan" >&2; exit 1; }
        echo "sanitize: thread: $t"
        "$bin" --gtest_brief=1 "$@"
      done
      echo "sanitize: thread: ${#tsan_tests[@]} binaries passed in $(($(date +%s) - start)) s"
      ;;
    *) echo "usage: scripts/sanitize.sh [address|thread|all] [ctest or gtest arguments]" >&2; exit 2 ;;
  esac
done
