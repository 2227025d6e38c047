// The latest committed state for readers (internal to the ledger): values from the state tree
// at the committed version behind an in-memory cache of recently read and written keys, and
// ordered scans from the "flat" column family (which holds the keys under modules' scan
// prefixes).
//
// Every block reads the accounts it touches (nonce, balances) and CheckTx reads them again for
// each arriving transaction; a hash lookup costs a tenth of a RocksDB point read. The cache
// never serves a value older than the last completed Commit: Commit calls Apply() with the
// block's writes after the batch is durable, which overwrites (or inserts) each written key,
// and a reader fills a missing entry only if no Apply ran since it started reading, so a read
// that raced a commit cannot plant a stale value.
//
// Thread-safety: Get and Scan from any thread; Apply from the committing thread.
#pragma once

#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "probity/ledger/state_tree.h"
#include "state_layers.h"

namespace probity::ledger {

class CommittedState final : public KvReader {
 public:
  CommittedState(const StateTree* tree, rocksdb::DB* db, rocksdb::ColumnFamilyHandle* flat,
                 size_t max_bytes);

  // The state version readers see (0: the empty tree before genesis).
  void SetVersion(uint64_t version) { version_.store(version, std::memory_order_release); }

  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;

  // The writes of version `version`, whose batch has been written and committed in the tree.
  void Apply(const std::vector<StateWrite>& writes, uint64_t version);

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::optional<Bytes>> entries;
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardFor(std::string_view key) const;
  void PutLocked(Shard& s, std::string key, std::optional<Bytes> value, bool overwrite) const;

  const StateTree* tree_;
  FlatReader flat_;
  std::atomic<uint64_t> version_{0};
  size_t max_shard_bytes_;
  mutable std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace probity::ledger
