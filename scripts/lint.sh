#!/usr/bin/env bash
# The style check CI runs: clang-format over every C++ file (the tree must already be formatted) and
# clang-tidy over the sources in compile_commands.json with the checks in .clang-tidy.
#   scripts/lint.sh [BUILD_DIR]     default build/; clang-tidy's compile commands go in BUILD_DIR/lint-db
# TOCSIN_LINT_TIDY=0 skips clang-tidy (formatting only).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-${TOCSIN_BUILD_DIR:-build}}
clang_format=$(command -v clang-format-14 || command -v clang-format)
clang_tidy=$(command -v clang-tidy-14 || command -v clang-tidy)

mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
echo "lint: clang-format on ${#files[@]} files"
"$clang_format" --dry-run --Werror "${files[@]}"

[ "${TOCSIN_LINT_TIDY:-1}" = "0" ] && exit 0
# clang-tidy needs one compile command per source; a unity build (scripts/build.sh) lists its batches
# instead, so the commands come from a configure-only tree of the same sources without batches.
db_dir=$build_dir/lint-db
cmake -S . -B "$db_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOCSIN_UNITY_BUILD=OFF \
  -DTOCSIN_BUILD_TESTS=OFF -DTOCSIN_BUILD_BENCH=OFF >/dev/null
# The project's own sources (tests and benchmarks follow the same style but are formatting-checked
# only: gtest's and benchmark's macros trip checks that do not apply to them).
mapfile -t sources < <(git ls-files 'src/*.cpp')
echo "lint: clang-tidy on ${#sources[@]} sources"
# clang 14 does not define the C++20 coroutine feature macro that libstdc++ 12's <coroutine> and Asio
# test for (g++ does), so Asio's awaitable would not exist for it; it does implement the builtins.
clang_args=(--extra-arg=-D__cpp_impl_coroutine=201902L --extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT=1
            --extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE=1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -n 4 "$clang_tidy" -p "$db_dir" --quiet --warnings-as-errors='*' "${clang_args[@]}" \
    >"$log" 2>&1 || status=1
grep -v -E '^[0-9]+ warnings? generated|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "lint: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "lint: OK"
