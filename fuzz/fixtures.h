// What the fuzz targets check their input against, built the same way in every run (and by
// make_corpus, which writes the seed corpora from the same fixtures): fixed keys, a small
// inference job and its commitment, a state tree and its root, a chain with the standard
// modules, the provider service's parties.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "framing.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/state_tree.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/verifier/sim/tiny_job.h"
#include "probity/workloads/workloads.h"

namespace probity::fuzz {

inline constexpr std::string_view kChainId = "fuzz-chain";

// Key i of a fixed sequence: 0 the block proposer, 1 a funded account, 2 the provider,
// 3 the buyer, 4 a verifier.
SecretKey FixedKey(int i);

// A single-thread cpu backend (created once).
workloads::Backend& Cpu();

// An inference job of 4 images, one per segment, through an MLP with one hidden unit (small
// openings, small seeds), and its honest run.
const verifier::sim::TinyInferJob& InferJob();

// A state tree of 64 keys ("fuzz/k/<i>" -> "value <i>"), built once in a temporary RocksDB.
struct StateFixture {
  Hash256 root{};
  struct Entry {
    Bytes key;
    std::optional<Bytes> value;
    ledger::StateProof proof;
  };
  std::vector<Entry> proofs;  // of every key, and of absent keys
};
const StateFixture& State();

// A chain "fuzz-chain" with the standard modules in a temporary directory (removed at exit),
// account 1 funded, committed at height 0.
ledger::ChainApp& Chain();

// A signed transaction of account `signer` (nonce, fee 1) carrying `msg`.
Bytes SignedTx(int signer, uint64_t nonce, std::string_view type_url,
               const google::protobuf::Message& msg);

}  // namespace probity::fuzz
