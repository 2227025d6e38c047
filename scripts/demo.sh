#!/usr/bin/env bash
# The main job (README.md): installs what is missing, builds, and shows the primitives at
# work: a key is created in a throw-away home, a message is signed and verified, a forged one
# is refused, and the crypto benchmark runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
P=${BUILD_DIR:-build}/daemon/probity
HOME_DIR=$(mktemp -d)
trap 'rm -rf "$HOME_DIR"' EXIT
export PROBITY_PASSPHRASE=${PROBITY_PASSPHRASE:-demo passphrase}

echo "== a new key, encrypted with a passphrase (scrypt + AES-256-GCM)"
"$P" keys new alice --home "$HOME_DIR"
ADDR=$("$P" keys show alice --home "$HOME_DIR" --json | sed -E 's/.*"address":"([^"]+)".*/\1/')
echo
echo "== alice signs a message (BIP-340 Schnorr)"
SIG=$("$P" sign alice --message "hello, probity" --home "$HOME_DIR" --json |
      sed -E 's/.*"signature":"([^"]+)".*/\1/')
echo "signature: $SIG"
echo
echo "== anyone verifies it with alice's address"
"$P" verify "$ADDR" "$SIG" --message "hello, probity"
echo
echo "== a changed message is refused"
if "$P" verify "$ADDR" "$SIG" --message "hello, probity!"; then
  echo "demo: a forged message verified" >&2
  exit 1
fi
echo
echo "== crypto benchmark"
"$P" bench crypto
