// A node: the chain application, its storage, the mempool and one driver.
//
// Drivers (one per node):
//   producer  (solo, the default) — every block_interval_ms, if the mempool holds anything
//             (or the heartbeat is due, or no block exists yet), takes the best transactions,
//             executes them (FinalizeBlock), signs the header with the proposer's key and
//             commits block + indexes + state in one synced batch; then re-checks the mempool.
//   follower  — streams blocks from another node over gRPC, checks each (signature by the
//             genesis proposer, chain, height, previous hash, time, tx root), re-executes it
//             and compares app hash, results root and block-events hash with the header. On
//             any mismatch it raises an ALARM (stderr and Status.halted), commits nothing
//             more and keeps serving reads of the verified chain.
//
// Recovery: Open() continues from the last committed block (state, blocks and indexes were
// written in one batch, so they always agree); on an empty store it runs InitChain from the
// genesis and pins the genesis hash, so that a changed genesis.json is refused later. The
// mempool is not persistent: transactions pending at a crash must be submitted again (their
// nonces make that safe).
//
// Thread-safety: SubmitTx, the read accessors and WaitForHeight may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "probity/ledger/block.h"
#include "probity/ledger/block_store.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/mempool.h"
#include "probity/ledger/node_config.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"
#include "probity/ledger/tls.h"

namespace grpc {
class ChannelCredentials;
}

namespace probity::ledger {

struct NodeOptions {
  NodeConfig config;
  Genesis genesis;
  // Producer mode: the proposer's key; it must be the genesis proposer.
  std::shared_ptr<const SecretKey> producer_key;
  // Follower mode: the gRPC address of the node to follow, and how to reach it (tls.h).
  std::string follow;
  TlsClientOptions follow_tls;
  // Where the node's own messages go (ALARMs and halts with `error`, the follower's connection
  // changes without). Null: standard error. Called from the driver thread.
  std::function<void(bool error, const std::string& message)> log;
  // TEST ONLY (tests/ledger_cluster_test.cc): a producer that flips one bit of the app hash
  // in the header of this height, so that followers' alarms can be exercised. 0 = off.
  // Set by `probity node` from PROBITY_TEST_CORRUPT_APP_HASH_AT; never set it in production.
  uint64_t test_corrupt_app_hash_at = 0;
  // TEST ONLY (tests/faults): the n-th synced block write of this process fails as a failing
  // disk would make it (Storage::Options::test_fail_write_at); the producer then halts and
  // `probity node` exits 3. Set from PROBITY_TEST_FAIL_BLOCK_WRITE_AT. 0 = off.
  uint64_t test_fail_block_write_at = 0;
};

struct SubmitOutcome {
  TxVerdict verdict;  // the mempool's answer (code 0 = accepted)
  Hash256 tx_id{};
  bool committed = false;  // with wait: the transaction is in a committed block
  TxLocation location;
  types::v1::TxResult result;
};

struct NodeStatus {
  std::string mode;       // "producer" or "follower"
  std::string following;  // follower: the producer's address
  uint64_t height = 0;
  Hash256 app_hash{};
  Hash256 block_hash{};
  int64_t time_unix_ms = 0;
  uint64_t mempool_txs = 0;
  std::string halted;  // non-empty: why the node stopped adding blocks
  Hash256 genesis_app_hash{};
  // Since Open (this process), for monitoring: blocks committed (produced, or verified and
  // applied by a follower) and the transactions in them.
  uint64_t blocks_committed = 0;
  uint64_t txs_committed = 0;
  uint64_t mempool_bytes = 0;
  // Time since the last commit (or since Open, before the first): how stale the app hash is.
  double seconds_since_commit = 0;
  // Follower: the stream from the followed node has delivered a block and is still open.
  bool follower_connected = false;
};

class Node {
 public:
  // Opens (or creates) the node's database in `data_dir`. Does not start any thread.
  static Result<std::unique_ptr<Node>> Open(const std::string& data_dir, NodeOptions options,
                                            ModuleSet modules);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Starts the driver thread. REQUIRES: called once.
  Status Start();
  // Stops the driver thread and wakes every waiter. Idempotent.
  void Stop();

  // CheckTx + mempool. With `wait`, returns once the transaction is committed, dropped, or
  // `timeout` passes (committed = false then).
  SubmitOutcome SubmitTx(ByteView tx, bool wait, std::chrono::milliseconds timeout);

  // True once the committed height reaches `height`; false on timeout or Stop.
  bool WaitForHeight(uint64_t height, std::chrono::milliseconds timeout) const;
  uint64_t height() const;
  NodeStatus Describe() const;
  bool stopping() const { return stop_.load(); }

  // Called on the driver thread after every commit, with the block's tx ids (benchmarks).
  void SetCommitObserver(std::function<void(uint64_t height, const std::vector<Hash256>&)> fn);

  const BlockStore& blocks() const { return *blocks_; }
  ChainApp& app() { return *app_; }
  const Genesis& genesis() const { return options_.genesis; }
  const NodeConfig& config() const { return options_.config; }
  bool is_follower() const { return !options_.follow.empty(); }

 private:
  Node() = default;
  ::probity::Status Recover();
  void ProducerLoop();
  void FollowerLoop();
  ::probity::Status ProduceBlock();
  // Verifies, re-executes and commits one block from the followed node. kAborted-like errors
  // are alarms (the block is wrong); the caller halts.
  ::probity::Status ApplyFollowedBlock(ByteView block_bytes, bool* alarm);
  ::probity::Status CommitBlock(const types::v1::BlockHeader& header, const Hash256& block_hash,
                                ByteView block_bytes, FinalizeBlockResponse resp,
                                const std::vector<Hash256>& ids);
  void Halt(const std::string& why, bool alarm);
  void Say(bool error, const std::string& message) const;
  void NotifyCommitted(uint64_t height, const std::vector<Hash256>& ids,
                       const types::v1::BlockResults& results);
  void NotifyDropped(const std::vector<DroppedTx>& dropped);

  NodeOptions options_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ChainApp> app_;
  std::unique_ptr<BlockStore> blocks_;
  std::unique_ptr<Mempool> mempool_;
  std::thread driver_;
  std::atomic<bool> stop_{false};
  bool started_ = false;

  // Tip of the chain (driver thread writes, anyone reads).
  mutable std::mutex tip_mu_;
  mutable std::condition_variable tip_cv_;
  uint64_t height_ = 0;
  Hash256 tip_hash_{};
  int64_t tip_time_ms_ = 0;
  Hash256 tip_app_hash_{};
  std::string halted_;
  std::chrono::steady_clock::time_point last_block_at_;
  uint64_t blocks_committed_ = 0;
  uint64_t txs_committed_ = 0;
  std::atomic<bool> follower_connected_{false};
  std::shared_ptr<grpc::ChannelCredentials> follow_credentials_;

  // SubmitTx waiters: tx id -> outcome once known.
  struct Waiter {
    int refs = 0;
    bool done = false;
    SubmitOutcome outcome;
  };
  struct IdHash {
    size_t operator()(const Hash256& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof(v));
      return v;
    }
  };
  mutable std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  std::unordered_map<Hash256, std::shared_ptr<Waiter>, IdHash> waiters_;

  std::mutex follow_mu_;
  void* follow_ctx_ = nullptr;  // the follower's grpc::ClientContext, to cancel on Stop

  std::mutex observer_mu_;
  std::function<void(uint64_t, const std::vector<Hash256>&)> observer_;
};

}  // namespace probity::ledger
