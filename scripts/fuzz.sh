#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/; Clang with AddressSanitizer and UBSan, in build-fuzz/)
# and runs each for SECONDS (default 20): first its committed seed corpus and regression inputs,
# then fuzzing. Fails on any crash, leak, sanitizer report or broken property; the crashing
# input is left under build-fuzz/fuzz/work/<target>/artifacts/ (keep it under
# fuzz/regressions/<target>/ once fixed).
#
# usage: scripts/fuzz.sh [SECONDS] [--corpus] [--only TARGET]
#   --corpus   rewrite the seed corpora (fuzz/corpus/) with fuzz/make_corpus first
# Needs clang, clang++ and libFuzzer (Debian: clang-14, whose package ships libclang_rt.fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20 corpus=0 only=
while [ $# -gt 0 ]; do
  case $1 in
    --corpus) corpus=1 ;;
    --only) only=$2; shift ;;
    *) seconds=$1 ;;
  esac
  shift
done
for tool in clang clang++ cmake ninja; do
  command -v "$tool" >/dev/null || { echo "fuzz: needs $tool (apt-get install clang-14 ninja-build)" >&2; exit 1; }
done
B=${FUZZ_BUILD_DIR:-build-fuzz}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
CC=clang CXX=clang++ cmake -S . -B "$B" -G Ninja -DPROBITY_FUZZ=ON -DPROBITY_ENABLE_CUDA=OFF \
  -DPROBITY_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
targets=(probity_fuzzers)
[ "$corpus" = 1 ] && targets+=(make_corpus)
cmake --build "$B" -j "${JOBS:-2}" --target "${targets[@]}"
if [ "$corpus" = 1 ]; then
  rm -rf fuzz/corpus
  "$B/fuzz/make_corpus" fuzz/corpus tests/data
fi
filter='^fuzz_'
[ -n "$only" ] && filter="^fuzz_${only}\$"
PROBITY_FUZZ_SECONDS=$seconds ctest --test-dir "$B" -R "$filter" --output-on-failure
