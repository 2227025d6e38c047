#!/usr/bin/env bash
# The test command (README.md, .ci/run): installs what is missing, builds, runs every test
# that needs no GPU (`ctest -LE gpu`: labels unit, integration and slow), then builds the
# libFuzzer targets with Clang and runs each for FUZZ_SECONDS (default 10; 0 skips them).
# On a machine with a GPU, `ctest -L gpu` in the build directory runs the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(
  cd "${BUILD_DIR:-build}"
  ctest -LE gpu --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 900
)
# Each fuzz target replays its seed corpus and regression inputs, then fuzzes for
# FUZZ_SECONDS seconds (scripts/fuzz.sh; a build of its own in build-fuzz/, about 4 minutes
# from scratch on two cores).
fuzz_seconds=${FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" != 0 ]; then
  bash scripts/fuzz.sh "$fuzz_seconds"
fi
