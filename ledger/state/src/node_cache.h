// A bounded, thread-safe cache of decoded state-tree nodes by (version, path): the second tier
// behind the linked in-memory tree (state_tree.cc), for nodes below the link depth and nodes
// read from RocksDB.
//
// It holds at most one node per nibble path: the newest one it has seen. Committing a version
// inserts the unlinked nodes it wrote, which overwrite, path by path, the nodes they replace, so
// the cache follows the latest tree without a separate eviction per replaced node, and a lookup of
// a node of an older version at a path that has moved on is a miss (read from RocksDB, whose
// block cache serves such rare reads of past versions). Node keys are immutable once
// committed, so a cached node is never wrong; only nodes of committed versions are inserted
// (see StateTreeImpl::MarkCommitted), so an abandoned version applied again with other writes
// is never served from it.
//
// Eviction is by age, not strict LRU: a hit stamps the entry with the current epoch (a relaxed
// atomic store under a shared lock, so readers do not serialise on a list splice); when a
// shard outgrows its budget, the entries with the oldest stamps are dropped until it is back
// to 3/4 of it. Nodes near the root are used by every version and never age out.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <unordered_map>

#include "node.h"

namespace probity::ledger::state_internal {

class NodeCache {
 public:
  // capacity_bytes == 0 disables the cache.
  explicit NodeCache(size_t capacity_bytes);

  std::shared_ptr<const Node> Lookup(const NodeKey& key) const;
  // Keeps `node` unless the cache already holds a newer version at its path.
  void Insert(const NodeKey& key, std::shared_ptr<const Node> node);
  // Drops the node at key.path if it is of key.version.
  void Erase(const NodeKey& key);
  // Starts a new epoch (once per committed version).
  void Tick() { epoch_.fetch_add(1, std::memory_order_relaxed); }

  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    uint64_t version = 0;
    std::shared_ptr<const Node> node;
    size_t charge = 0;
    mutable std::atomic<uint32_t> last_used{0};
  };
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<NibblePath, Entry, NibblePathHash> map;
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(const NibblePath& path) const {
    return shards_[(NibblePathHash()(path) >> 40) % kShards];
  }
  void EvictOldest(Shard& s);

  size_t shard_capacity_;
  std::atomic<uint32_t> epoch_{1};
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace probity::ledger::state_internal
