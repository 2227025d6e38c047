#!/usr/bin/env bash
# The main job (README.md): installs what is missing, builds, and shows Probity at work on one
# machine with nothing set up beforehand:
#   1. keys: two accounts, encrypted with a passphrase; a message signed and verified, a forged
#      one refused;
#   2. a local chain: `probity init` writes a genesis that funds alice, `probity node` produces
#      signed blocks, alice sends bob a transfer, and the CLI checks every answer of the node
#      against a Merkle proof and the producer's signature;
#   3. the crypto and state benchmarks, briefly.
# Everything lives in a throw-away home directory; the node listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
P=$(pwd)/${BUILD_DIR:-build}/daemon/probity
HOME_DIR=$(mktemp -d)
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT
export PROBITY_PASSPHRASE=${PROBITY_PASSPHRASE:-demo passphrase}
json_field() { sed -E "s/.*\"$1\":\"?([^\",}]+)\"?.*/\1/"; }

echo "== 1. keys: alice and bob (BIP-340 keys, files encrypted with scrypt + AES-256-GCM)"
"$P" keys new alice --home "$HOME_DIR"
"$P" keys new bob --home "$HOME_DIR" --json >/dev/null
ALICE=$("$P" keys show alice --home "$HOME_DIR" --json | json_field address)
BOB=$("$P" keys show bob --home "$HOME_DIR" --json | json_field address)
SIG=$("$P" sign alice --message "hello, probity" --home "$HOME_DIR" --json | json_field signature)
"$P" verify "$ALICE" "$SIG" --message "hello, probity"
if "$P" verify "$ALICE" "$SIG" --message "hello, probity!" >/dev/null; then
  echo "demo: a forged message verified" >&2
  exit 1
fi
echo "a changed message is refused"

echo
echo "== 2. a local chain: genesis funds alice; a node produces signed blocks"
"$P" init --home "$HOME_DIR" --chain-id probity-demo --fund "alice=1000000000"
PORT=$((20000 + RANDOM % 20000))
"$P" node --home "$HOME_DIR" --listen "127.0.0.1:$PORT" >"$HOME_DIR/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 100); do
  "$P" query block latest --home "$HOME_DIR" --node "127.0.0.1:$PORT" >/dev/null 2>&1 && break
  sleep 0.1
done
echo "node up on 127.0.0.1:$PORT"
echo
echo "-- alice sends bob 250000 (signed, submitted, committed)"
"$P" tx transfer --from alice --to bob --amount 250000 --home "$HOME_DIR" --node "127.0.0.1:$PORT"
echo
echo "-- balances, each checked against a state proof under the signed header's app hash"
"$P" query account "$ALICE" --home "$HOME_DIR" --node "127.0.0.1:$PORT"
"$P" query account "$BOB" --home "$HOME_DIR" --node "127.0.0.1:$PORT"
echo
echo "-- the latest block"
"$P" query block latest --home "$HOME_DIR" --node "127.0.0.1:$PORT"

echo
echo "== 3. benchmarks (short runs)"
"$P" bench crypto --quick
