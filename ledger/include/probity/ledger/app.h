// The ledger application, behind an interface shaped like ABCI 2.0 (CometBFT's application
// interface), so that the drivers that run it (the embedded solo producer, a follower, and
// later an ABCI socket server under CometBFT) never reach inside, and modules never know which
// driver runs them.
//
// Call order, per block:  PrepareProposal (producer only) -> ProcessProposal (followers) ->
// FinalizeBlock -> [the driver checks / signs the header] -> Commit, or Abandon to drop it.
// InitChain runs once on an empty store and is followed by Commit (height 0: the genesis
// state, with no block). CheckTx and Query may run at any time on any thread; they see the
// last committed state. Info tells a driver where the app stands after a restart.
//
// Differences from ABCI, on purpose: the app hash of block h is the state after h's own
// transactions (a solo chain can sign it at once, so a client verifies height h's state
// against header h; under CometBFT it would appear in header h+1); Commit takes the driver's
// own writes so that the block, its indexes and the state land in one synced RocksDB write
// batch; Abandon exists for a follower that refuses a block after executing it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "probity/ledger/genesis.h"
#include "probity/ledger/module.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/types/v1/result.pb.h"

namespace rocksdb {
class WriteBatch;
}

namespace probity::ledger {

struct InfoResponse {
  std::string chain_id;
  uint64_t last_height = 0;  // 0 after InitChain with no block yet
  Hash256 last_app_hash{};
  Hash256 genesis_app_hash{};
  bool initialised = false;  // false on an empty store: call InitChain
};

enum class CheckTxKind {
  kNew,      // a transaction arriving: every check, signature included
  kRecheck,  // after a block, for one still in the mempool: state checks only
};

struct CheckTxResponse {
  TxVerdict verdict;
  DecodedTx tx;  // meaningful when the transaction decoded
  // The signer's account in committed state, for the mempool's nonce and fee bookkeeping.
  uint64_t account_next_nonce = 0;
  uint64_t account_fee_balance = 0;
};

struct PrepareProposalRequest {
  BlockInfo block;
  std::span<const ByteView> candidates;  // from the mempool, best first
};
struct PrepareProposalResponse {
  std::vector<size_t> chosen;  // indices into candidates, in block order
};

struct ProcessProposalRequest {
  BlockInfo block;
  std::span<const Bytes> txs;
};
struct ProcessProposalResponse {
  bool accept = false;
  std::string reason;  // why not
};

struct FinalizeBlockRequest {
  BlockInfo block;
  std::span<const Bytes> txs;
};
struct FinalizeBlockResponse {
  std::vector<types::v1::TxResult> tx_results;  // one per transaction, in order
  std::vector<Hash256> tx_ids;                  // SHA-256 of each transaction, in order
  std::vector<types::v1::Event> begin_block_events;
  std::vector<types::v1::Event> end_block_events;
  Hash256 app_hash{};
};

struct CommitRequest {
  // The driver's writes (block, tx index, event index) to land in the same synced batch as
  // the state; may be empty (a driver that keeps blocks elsewhere).
  std::function<Status(rocksdb::WriteBatch* batch)> also_write;
};

struct QueryRequest {
  std::string path;     // "store" (raw key, with proof) or "<module>/<name>"
  Bytes data;           // the key for "store"; the module's request otherwise
  uint64_t height = 0;  // 0 = latest committed
  bool prove = false;
};
struct QueryResponse {
  uint64_t height = 0;
  Bytes key;
  std::optional<Bytes> value;  // "store": the value or absent; module query: its reply
  Bytes proof;                 // "store" with prove: StateProof::encoded
};

class Application {
 public:
  virtual ~Application() = default;

  virtual InfoResponse Info() const = 0;
  // REQUIRES: !Info().initialised. Builds the genesis state (not yet committed).
  virtual Result<Hash256> InitChain(const Genesis& genesis) = 0;

  virtual CheckTxResponse CheckTx(ByteView tx, CheckTxKind kind) = 0;

  virtual PrepareProposalResponse PrepareProposal(const PrepareProposalRequest& req) = 0;
  virtual ProcessProposalResponse ProcessProposal(const ProcessProposalRequest& req) = 0;

  // Executes a block on top of the last committed state and returns the new app hash; the
  // result stays pending until Commit or Abandon. An error (I/O, broken state) means the node
  // must stop; user errors are tx results, never errors here.
  // REQUIRES: block.height == Info().last_height + 1 and nothing pending.
  virtual Result<FinalizeBlockResponse> FinalizeBlock(const FinalizeBlockRequest& req) = 0;
  // Writes the pending state (and the driver's writes) in one synced batch.
  virtual Status Commit(const CommitRequest& req) = 0;
  virtual void Abandon() = 0;

  // kNotFound for an unknown path or a pruned/future height; kInvalidArgument for bad data.
  virtual Result<QueryResponse> Query(const QueryRequest& req) const = 0;
};

}  // namespace probity::ledger
