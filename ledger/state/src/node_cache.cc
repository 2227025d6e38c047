#include "node_cache.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

namespace probity::ledger::state_internal {

NodeCache::NodeCache(size_t capacity_bytes) : shard_capacity_(capacity_bytes / kShards) {}

std::shared_ptr<const Node> NodeCache::Lookup(const NodeKey& key) const {
  if (shard_capacity_ == 0) return nullptr;
  Shard& s = ShardOf(key.path);
  std::shared_lock lock(s.mu);
  auto it = s.map.find(key.path);
  if (it == s.map.end() || it->second.version != key.version) return nullptr;
  it->second.last_used.store(epoch_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return it->second.node;
}

void NodeCache::Insert(const NodeKey& key, std::shared_ptr<const Node> node) {
  if (shard_capacity_ == 0) return;
  // The map's own node (path, links, hash) costs about 96 bytes beyond the entry.
  size_t charge = node->MemoryCharge() + sizeof(Entry) + 96;
  std::shared_ptr<const Node> dropped;  // freed after the lock is released
  Shard& s = ShardOf(key.path);
  std::unique_lock lock(s.mu);
  auto [it, fresh] = s.map.try_emplace(key.path);
  Entry& e = it->second;
  if (!fresh) {
    if (e.version > key.version) return;
    s.bytes -= e.charge;
    dropped = std::move(e.node);
  }
  e.version = key.version;
  e.node = std::move(node);
  e.charge = charge;
  e.last_used.store(epoch_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  s.bytes += charge;
  if (s.bytes > shard_capacity_) EvictOldest(s);
}

void NodeCache::EvictOldest(Shard& s) {
  // Oldest stamps first; within one epoch, any order.
  using It = decltype(s.map)::iterator;
  std::vector<std::pair<uint32_t, It>> ages;
  ages.reserve(s.map.size());
  for (It it = s.map.begin(); it != s.map.end(); ++it) {
    ages.emplace_back(it->second.last_used.load(std::memory_order_relaxed), it);
  }
  std::sort(ages.begin(), ages.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const size_t target = shard_capacity_ / 4 * 3;
  for (auto& [age, it] : ages) {
    if (s.bytes <= target) break;
    s.bytes -= it->second.charge;
    s.map.erase(it);
  }
}

void NodeCache::Erase(const NodeKey& key) {
  if (shard_capacity_ == 0) return;
  std::shared_ptr<const Node> dropped;
  Shard& s = ShardOf(key.path);
  std::unique_lock lock(s.mu);
  auto it = s.map.find(key.path);
  if (it == s.map.end() || it->second.version != key.version) return;
  s.bytes -= it->second.charge;
  dropped = std::move(it->second.node);
  s.map.erase(it);
}

size_t NodeCache::bytes() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.bytes;
  }
  return n;
}

size_t NodeCache::entries() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace probity::ledger::state_internal
