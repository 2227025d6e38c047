#include "committed_state.h"

#include <functional>

namespace probity::ledger {
namespace {

constexpr size_t kEntryOverhead = 64;  // node, hash slot and string headers, roughly

size_t Charge(const std::string& key, const std::optional<Bytes>& value) {
  return kEntryOverhead + key.size() + (value ? value->size() : 0);
}

}  // namespace

CommittedState::CommittedState(const StateTree* tree, rocksdb::DB* db,
                               rocksdb::ColumnFamilyHandle* flat, size_t max_bytes)
    : tree_(tree), flat_(db, flat), max_shard_bytes_(std::max<size_t>(max_bytes / kShards, 4096)) {}

CommittedState::Shard& CommittedState::ShardFor(std::string_view key) const {
  return shards_[std::hash<std::string_view>()(key) % kShards];
}

void CommittedState::PutLocked(Shard& s, std::string key, std::optional<Bytes> value,
                               bool overwrite) const {
  auto it = s.entries.find(key);
  if (it != s.entries.end()) {
    if (!overwrite) return;
    s.bytes -= Charge(it->first, it->second);
    s.bytes += Charge(it->first, value);
    it->second = std::move(value);
  } else {
    // Crude but O(1) amortised: a full shard starts over; hot keys come back at once.
    if (s.bytes + Charge(key, value) > max_shard_bytes_) {
      s.entries.clear();
      s.bytes = 0;
    }
    s.bytes += Charge(key, value);
    s.entries.emplace(std::move(key), std::move(value));
  }
}

Result<std::optional<Bytes>> CommittedState::Get(ByteView key) const {
  std::string_view k = AsChars(key);
  Shard& s = ShardFor(k);
  {
    std::lock_guard<std::mutex> l(s.mu);
    auto it = s.entries.find(std::string(k));
    if (it != s.entries.end()) return it->second;
  }
  uint64_t generation = generation_.load(std::memory_order_acquire);
  uint64_t version = version_.load(std::memory_order_acquire);
  if (version == 0) return std::optional<Bytes>();  // nothing committed yet
  PROBITY_ASSIGN_OR_RETURN(std::optional<Bytes> v, tree_->Get(version, key));
  std::lock_guard<std::mutex> l(s.mu);
  if (generation_.load(std::memory_order_acquire) == generation) {
    PutLocked(s, std::string(k), v, /*overwrite=*/false);
  }
  return v;
}

Status CommittedState::Scan(ByteView begin, ByteView end,
                            const std::function<bool(ByteView, ByteView)>& fn) const {
  return flat_.Scan(begin, end, fn);
}

void CommittedState::Apply(const std::vector<StateWrite>& writes, uint64_t version) {
  version_.store(version, std::memory_order_release);
  for (const auto& w : writes) {
    std::string k(AsChars(w.key));
    Shard& s = ShardFor(k);
    std::lock_guard<std::mutex> l(s.mu);
    PutLocked(s, std::move(k), w.value, /*overwrite=*/true);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace probity::ledger
