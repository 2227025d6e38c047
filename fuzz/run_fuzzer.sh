#!/usr/bin/env bash
# Runs one fuzz target: first every input of its seed corpus and regressions once (a crash
# there fails at once), then fuzzing for PROBITY_FUZZ_SECONDS seconds (default 10) from a copy
# of the corpus kept in WORK_DIR (new inputs go there, never into the committed corpus).
# Crashing inputs are left in WORK_DIR/<target>/artifacts; the exit status is the fuzzer's.
#
# usage: run_fuzzer.sh FUZZER_BINARY TARGET FUZZ_SOURCE_DIR WORK_DIR
set -euo pipefail
bin=$1 target=$2 src=$3 work=$4
seconds=${PROBITY_FUZZ_SECONDS:-10}
corpus=$src/corpus/$target
regressions=$src/regressions/$target
mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
dirs=("$corpus")
[ -d "$regressions" ] && dirs+=("$regressions")
# -rss_limit_mb: the targets keep a chain or a state tree in memory; 2 GiB is far above it.
common=(-rss_limit_mb=2048 -timeout=30 -print_final_stats=0
        "-artifact_prefix=$work/$target/artifacts/")
echo "fuzz $target: replaying ${dirs[*]}"
"$bin" "${common[@]}" -runs=0 "${dirs[@]}"
echo "fuzz $target: fuzzing for ${seconds}s"
"$bin" "${common[@]}" -max_total_time="$seconds" "$work/$target/corpus" "${dirs[@]}"
