#!/usr/bin/env bash
# The test command (README.md, .ci/run): installs what is missing, builds, and runs every test
# that needs no GPU (`ctest -LE gpu`: labels unit, integration and slow).
# On a machine with a GPU, `ctest -L gpu` in the build directory runs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest -LE gpu --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
