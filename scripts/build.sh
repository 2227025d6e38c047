#!/usr/bin/env bash
# Configures and builds Probity into ${BUILD_DIR:-build} (Release with debug info, warnings as
# errors). CUDA code is built when nvcc is found at /usr/local/cuda.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DPROBITY_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
