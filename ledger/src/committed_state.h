// The latest committed state for readers (internal to the ledger): values from the state tree
// at the committed version (the tree keeps its latest version decoded in memory, so a read is
// a walk down in-memory nodes), and ordered scans from the "flat" column family, which holds
// the keys under modules' scan prefixes.
//
// Thread-safety: Get and Scan from any thread; SetVersion from the committing thread, after
// the tree has marked the version committed.
#pragma once

#include <atomic>

#include "probity/ledger/state_tree.h"
#include "state_layers.h"

namespace probity::ledger {

class CommittedState final : public KvReader {
 public:
  CommittedState(const StateTree* tree, rocksdb::DB* db, rocksdb::ColumnFamilyHandle* flat)
      : tree_(tree), flat_(db, flat) {}

  // The state version readers see (0: the empty tree before genesis).
  void SetVersion(uint64_t version) { version_.store(version, std::memory_order_release); }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  Result<std::optional<Bytes>> Get(ByteView key) const override {
    const uint64_t version = this->version();
    if (version == 0) return std::optional<Bytes>();  // nothing committed yet
    return tree_->Get(version, key);
  }
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override {
    return flat_.Scan(begin, end, fn);
  }

 private:
  const StateTree* tree_;
  FlatReader flat_;
  std::atomic<uint64_t> version_{0};
};

// The writes of the last committed block, over the committed state. While that block's
// version is the committed one, both give the same values (the block's writes are in it), but
// a key the block wrote is found here by one hash lookup instead of a hash of the key and a
// walk down the state tree. Those are the keys read most right after a block: the mempool
// re-checks the accounts the block touched, and the next block and new transactions often
// touch them again. Once another version is committed, every read goes to the committed state.
// Immutable after construction; shared by the readers that hold it.
class LastBlockView final : public KvReader {
 public:
  // `writes`: the changes that made `version` (each key once).
  LastBlockView(const CommittedState* committed, uint64_t version, std::vector<StateWrite> writes);

  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override {
    return committed_->Scan(begin, end, fn);  // the flat family already holds the block
  }

 private:
  const CommittedState* committed_;
  const uint64_t version_;
  const std::vector<StateWrite> writes_;
  std::vector<uint32_t> slots_;  // open addressing: index + 1 into writes_, 0 when empty
};

}  // namespace probity::ledger
