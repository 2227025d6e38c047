// A bounded, thread-safe LRU cache of decoded state-tree nodes, keyed by (version, path).
//
// Node keys are immutable once committed (a key is written by one version and never changed),
// so a cached node can never be stale; the cache only has to bound its memory. Only nodes of
// committed versions are inserted (see StateTreeImpl::MarkCommitted), so an abandoned version
// that is applied again with other writes can never be served from the cache.
#pragma once

#include <array>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "node.h"

namespace probity::ledger::state_internal {

class NodeCache {
 public:
  // capacity_bytes == 0 disables the cache.
  explicit NodeCache(size_t capacity_bytes);

  std::shared_ptr<const Node> Lookup(const NodeKey& key);
  void Insert(const NodeKey& key, std::shared_ptr<const Node> node);
  void Erase(const NodeKey& key);

  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    NodeKey key;
    std::shared_ptr<const Node> node;
    size_t charge;
  };
  // Shards keep the lock of one lookup from stalling readers of unrelated nodes.
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<NodeKey, std::list<Entry>::iterator, NodeKeyHash> index;
    size_t bytes = 0;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(const NodeKey& key) { return shards_[NodeKeyHash()(key) % kShards]; }

  size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace probity::ledger::state_internal
