// genesis.json: the chain's identity and first state.
//
//   {
//     "chain_id": "probity-local",
//     "genesis_time_unix_ms": "1767225600000",
//     "proposer": "prb1...",                      // the one block producer (solo driver)
//     "params": {"min_fee": "1", "max_tx_bytes": "4096",
//                "max_block_txs": "10000", "max_block_bytes": "8388608"},
//     "modules": {"bank": {"balances": [{"address": "prb1...", "amount": "1000000"}]}}
//   }
// The JSON mapping of proto/probity/node/v1/genesis.proto (64-bit numbers may be written as
// strings or numbers); unknown fields are errors. Each module's section is passed to that
// module's InitGenesis as JSON text; it travels as a google.protobuf.Value, whose numbers are
// doubles, so a module section's integers above 2^53 must be written as strings (a number that
// would not be read exactly is refused), and its objects' members may come back in another
// order.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity::ledger {

struct LedgerParams {
  uint64_t min_fee = 1;
  uint64_t max_tx_bytes = 4096;
  uint64_t max_block_txs = 10000;
  uint64_t max_block_bytes = 8u << 20;
};

struct Genesis {
  std::string chain_id;
  int64_t time_unix_ms = 0;
  XOnlyPubKey proposer{};
  LedgerParams params;
  std::map<std::string, std::string> modules;  // module name -> its section as JSON text
};

// kInvalidArgument naming the problem (bad JSON, unknown field, bad address, chain id not
// [A-Za-z0-9._-]{1,64}, a limit of zero, a module section's number above 2^53).
Result<Genesis> ParseGenesis(std::string_view json);
Result<Genesis> LoadGenesisFile(const std::string& path);

// Pretty JSON in the format above; ParseGenesis(GenesisToJson(g)) is g (the same GenesisHash;
// module sections' members perhaps in another order).
std::string GenesisToJson(const Genesis& g);

// SHA-256 over the canonical protobuf encoding of the genesis: what a node pins at init so
// that an edited genesis.json is noticed at the next start.
Hash256 GenesisHash(const Genesis& g);

}  // namespace probity::ledger
