#!/usr/bin/env bash
# Regenerates the measured table of docs/security.md: runs `probity bench adversarial --json`
# (10,500 jobs through the real chain; about two minutes on two cores) and writes its lines
# into the document. BENCH_FLAGS (e.g. --quick, --seed 2) is passed to the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
P=${BUILD_DIR:-build}/daemon/probity
[ -x "$P" ] || { echo "security-report: build first (bash scripts/build.sh)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "security-report: needs python3" >&2; exit 1; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
machine="$cpu, $(nproc) cores"
if command -v nvidia-smi >/dev/null 2>&1; then
  machine="$machine; GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2086
"$P" bench adversarial --json ${BENCH_FLAGS:-} > "$tmp"
python3 scripts/security_table.py docs/security.md "$machine" < "$tmp"
echo "security-report: wrote docs/security.md" >&2
