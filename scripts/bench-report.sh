#!/usr/bin/env bash
# Regenerates docs/benchmarks.md from every registered `probity bench` suite, run once each
# on this machine (and the table of docs/security.md from the adversarial suite's lines).
# BENCH_FLAGS (e.g. --quick) is passed to every suite. On a GPU machine,
# BACKEND=cuda runs the workloads suite on the cuda backend (cuBLAS/cuBLASLt ratios, CNN
# accuracy, steps/s); the report names the GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${BUILD_DIR:-build}/daemon/probity
[ -x "$P" ] || { echo "bench-report: build first (bash scripts/build.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench-report: needs python3 (apt-get install python3)" >&2; exit 1; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
machine="$cpu, $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
if command -v nvidia-smi >/dev/null 2>&1; then
  machine="$machine; GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
fi
suites=$("$P" bench 2>&1 | awk '/^  /{print $1}' || true)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for s in $suites; do
  echo "bench-report: $s" >&2
  extra=()
  if [ "$s" = workloads ] && [ -n "${BACKEND:-}" ]; then extra=(--backend "$BACKEND"); fi
  "$P" bench "$s" --json ${BENCH_FLAGS:-} "${extra[@]}" | tee -a "$tmp" >&2 ||
    echo "bench-report: suite $s failed" >&2
done
python3 scripts/bench_report.py docs/benchmarks.md "$machine" < "$tmp"
echo "bench-report: wrote docs/benchmarks.md" >&2
# The adversarial suite's table also stands in docs/security.md: the same run's figures.
if grep -q '"suite":"adversarial"' "$tmp"; then
  python3 scripts/security_table.py docs/security.md "$machine" < "$tmp"
  echo "bench-report: wrote docs/security.md" >&2
fi
