#include "node_cache.h"

namespace probity::ledger::state_internal {

NodeCache::NodeCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

std::shared_ptr<const Node> NodeCache::Lookup(const NodeKey& key) {
  if (shard_capacity_ == 0) return nullptr;
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->node;
}

void NodeCache::Insert(const NodeKey& key, std::shared_ptr<const Node> node) {
  if (shard_capacity_ == 0) return;
  // The key, the list links and the index slot cost about as much again as the node.
  size_t charge = node->MemoryCharge() + sizeof(Entry) + 64;
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it != s.index.end()) {
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return;
  }
  s.lru.push_front(Entry{key, std::move(node), charge});
  s.index.emplace(key, s.lru.begin());
  s.bytes += charge;
  while (s.bytes > shard_capacity_ && !s.lru.empty()) {
    Entry& victim = s.lru.back();
    s.bytes -= victim.charge;
    s.index.erase(victim.key);
    s.lru.pop_back();
  }
}

void NodeCache::Erase(const NodeKey& key) {
  if (shard_capacity_ == 0) return;
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return;
  s.bytes -= it->second->charge;
  s.lru.erase(it->second);
  s.index.erase(it);
}

size_t NodeCache::bytes() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.bytes;
  }
  return n;
}

size_t NodeCache::entries() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.index.size();
  }
  return n;
}

}  // namespace probity::ledger::state_internal
