#!/usr/bin/env bash
# The test command (README.md, .ci/run): installs what is missing, builds, and runs every test
# that needs no GPU (`ctest -LE gpu`: labels unit, integration and slow); with FUZZ_SECONDS,
# the fuzz targets too.
# On a machine with a GPU, `ctest -L gpu` in the build directory runs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# FUZZ_SECONDS=N also builds the libFuzzer targets with Clang and runs each for N seconds over
# its committed corpus (scripts/fuzz.sh; CONTRIBUTING.md says why it is not on by default).
if [ -n "${FUZZ_SECONDS:-}" ]; then
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
fi
cd "${BUILD_DIR:-build}"
ctest -LE gpu --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
