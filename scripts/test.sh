#!/usr/bin/env bash
# The test command: installs what is missing, builds, checks the style (scripts/lint.sh), and runs the
# whole suite with ctest, against throwaway PostgreSQL and Redis servers the tests start themselves. The
# soak (label `soak`, scripts/soak.sh) is left out: it runs for minutes on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh "$@"
scripts/lint.sh "${TOCSIN_BUILD_DIR:-build}"
cd "${TOCSIN_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 300 -LE soak
