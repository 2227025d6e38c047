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

  Result<std::optional<Bytes>> Get(ByteView key) const override {
    uint64_t version = version_.load(std::memory_order_acquire);
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

}  // namespace probity::ledger
