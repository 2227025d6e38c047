#!/usr/bin/env bash
# The main job (README.md): installs what is missing, builds, and runs `probity devnet`: a solo
# chain, a provider daemon (GPU if present, else CPU) and a verifier on this machine, then a
# Fashion-MNIST classifier trained and used for inference through the real, verified job flow,
# and a report. Arguments go to `probity devnet` (--once exits after the report, with status 0
# exactly when every job was verified and settled; --json prints the report as JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2   # stdout stays the report's (--json)
bash scripts/build.sh >&2
exec "$(pwd)/${BUILD_DIR:-build}/daemon/probity" devnet "$@"
