// ChainApp: the ledger application (app.h) over a set of modules, the state tree and RocksDB.
//
// What the ledger itself does for every transaction, before the message reaches its module
// (the "ante" checks, codespace "ledger"): decode, size, chain id, min fee, known message,
// the module's stateless ValidateMsg, signature, nonce == last + 1, fee taken through the
// FeePayer. A transaction failing any of these in a block changes nothing; one whose message
// fails keeps its nonce and fee.
//
// Its own state (under "ledger/"): "ledger/chain_id", "ledger/params" (LedgerParams as
// probity.node.v1.LedgerParams), "ledger/n/" + signer(32) -> u64 LE last used nonce.
// State version of height h is h + 1 (version 1 is the genesis state, height 0).
//
// Reads of committed state go to the state tree (its latest version lives in memory); the
// "flat" column family mirrors only the keys under modules' ScanPrefixes(), for ordered scans.
//
// Checked transactions: CheckTx remembers, by id, the transactions that passed all stateless
// checks and their signature (a bounded cache of the decoded form), so a producer executing
// its own mempool never decodes or verifies a transaction twice; every other transaction in a
// block is decoded and verified in parallel on the pool.
//
// Thread-safety: CheckTx, Query and Info may be called from any thread at any time; the
// block methods (InitChain, PrepareProposal, ProcessProposal, FinalizeBlock, Commit, Abandon)
// from one driver thread.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "probity/ledger/app.h"
#include "probity/ledger/state_tree.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"

namespace probity::ledger {

class Layer;
class CommittedState;
class LastBlockView;

struct ModuleSet {
  std::vector<std::unique_ptr<Module>> modules;
  FeePayer* fee_payer = nullptr;  // one of `modules`, which pays fees
};

// The state key of an account's last used nonce.
Bytes NonceKey(const XOnlyPubKey& account);

class ChainApp final : public Application {
 public:
  // `storage` and `pool` are not owned and must outlive the app; `tree` is the state tree
  // stored in storage->state_tree(). kInvalidArgument for a bad module set (duplicate names
  // or message types, no fee payer); kCorruption when the stored metadata and the tree
  // disagree.
  static Result<std::unique_ptr<ChainApp>> Open(Storage* storage, std::unique_ptr<StateTree> tree,
                                                ModuleSet modules, ThreadPool* pool);
  ~ChainApp() override;

  InfoResponse Info() const override;
  Result<Hash256> InitChain(const Genesis& genesis) override;
  CheckTxResponse CheckTx(ByteView tx, CheckTxKind kind) override;
  PrepareProposalResponse PrepareProposal(const PrepareProposalRequest& req) override;
  ProcessProposalResponse ProcessProposal(const ProcessProposalRequest& req) override;
  Result<FinalizeBlockResponse> FinalizeBlock(const FinalizeBlockRequest& req) override;
  Status Commit(const CommitRequest& req) override;
  void Abandon() override;
  Result<QueryResponse> Query(const QueryRequest& req) const override;

  // The chain's parameters (fixed at genesis). REQUIRES: Info().initialised.
  const LedgerParams& params() const { return params_; }
  const StateTree& tree() const { return *tree_; }

 private:
  class ExecContext;
  class StateQueryContext;
  struct Pending;
  struct Prepared;

  ChainApp() = default;
  Status LoadCommitted();
  Module* ModuleFor(const std::string& type_url) const;
  const std::vector<std::string>& ScannableOf(const Module& m) const;
  // True if `key` lies under a module's scan prefix (so it is mirrored in the flat family).
  bool InFlatPrefix(ByteView key) const;
  struct Checked;
  // Stateless checks of one transaction (decode, chain, fee floor, message), no signature.
  TxVerdict CheckStateless(ByteView tx, DecodedTx* out, Module** module) const;
  TxVerdict CheckSignature(const DecodedTx& tx) const;
  // The cached result of every stateless check and the signature, or a fresh one (cached
  // when it passes).
  void CheckFully(ByteView tx, Prepared* out);
  types::v1::TxResult DeliverTx(const BlockInfo& block, const Prepared& p, uint32_t index,
                                Layer* block_layer, Status* fatal);
  Result<Hash256> FinishVersion(uint64_t height, Layer* block_layer, std::vector<Hash256> tx_ids);
  // What committed state is read through: last_block_ when there is one, else committed_.
  std::shared_ptr<const KvReader> ReadView() const;

  // Checked-transaction cache. Two generations, so that it stays bounded without ages.
  std::shared_ptr<const Checked> CacheFind(const Hash256& id) const;
  void CacheAdd(std::shared_ptr<const Checked> c);
  void CacheErase(const std::vector<Hash256>& ids);

  Storage* storage_ = nullptr;
  std::unique_ptr<StateTree> tree_;
  std::unique_ptr<CommittedState> committed_;
  // The last committed block's writes over committed_ (committed_state.h), which CheckTx and
  // the next block read through; null until a block is committed in this process.
  mutable std::mutex last_block_mu_;
  std::shared_ptr<const LastBlockView> last_block_;  // guarded by last_block_mu_
  ModuleSet modules_;
  std::unordered_map<std::string, Module*> by_type_;
  std::unordered_map<const Module*, std::vector<std::string>> scannable_;  // relative prefixes
  std::vector<std::string> flat_prefixes_;                                 // full prefixes
  ThreadPool* pool_ = nullptr;

  LedgerParams params_;
  std::string chain_id_;

  mutable std::mutex mu_;  // guards the committed_* fields
  bool initialised_ = false;
  uint64_t committed_height_ = 0;
  Hash256 committed_app_hash_{};
  Hash256 genesis_app_hash_{};

  std::unique_ptr<Pending> pending_;
  // The size of the last committed block's batch: the next batch reserves about as much, so
  // that it does not grow by doubling (copying megabytes of tree nodes each time). Used by the
  // one thread that runs FinalizeBlock and Commit.
  size_t last_batch_bytes_ = 0;

  struct IdHash {
    size_t operator()(const Hash256& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof(v));
      return v;
    }
  };
  // Sharded by a byte of the id that the maps' hash does not use, so that submitters adding
  // checked transactions and the producer looking them up rarely wait on one another.
  using CheckedMap = std::unordered_map<Hash256, std::shared_ptr<const Checked>, IdHash>;
  struct CacheShard {
    std::mutex mu;
    CheckedMap current, previous;
  };
  static constexpr size_t kCacheShards = 16;
  static size_t ShardIndex(const Hash256& id) { return id[31] % kCacheShards; }
  CacheShard& ShardOf(const Hash256& id) const { return cache_[ShardIndex(id)]; }
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace probity::ledger
