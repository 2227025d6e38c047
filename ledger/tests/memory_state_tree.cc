#include "memory_state_tree.h"

#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::ledger::testing {

uint64_t MemoryStateTree::LatestVersion() const {
  std::lock_guard<std::mutex> l(mu_);
  return latest_;
}

Result<Hash256> MemoryStateTree::Root(uint64_t version) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = roots_.find(version);
  if (it == roots_.end()) return Status::NotFound("no version " + std::to_string(version));
  return it->second;
}

Result<Hash256> MemoryStateTree::ApplyVersion(uint64_t version,
                                              const std::vector<StateWrite>& writes,
                                              rocksdb::WriteBatch*) {
  std::lock_guard<std::mutex> l(mu_);
  if (version != latest_ + 1) return Status::InvalidArgument("version must be latest + 1");
  auto next = std::make_shared<Map>();
  if (latest_ > 0) *next = *versions_.at(latest_);
  for (const auto& w : writes) {
    if (w.value) {
      (*next)[w.key] = *w.value;
    } else {
      next->erase(w.key);
    }
  }
  Sha256Hasher h;
  for (const auto& [k, v] : *next) {
    ByteWriter w;
    w.LengthPrefixed(k);
    w.LengthPrefixed(v);
    h.Update(w.bytes());
  }
  pending_root_ = h.Final();
  pending_ = next;
  pending_version_ = version;
  return pending_root_;
}

void MemoryStateTree::MarkCommitted(uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  if (version != pending_version_ || !pending_) std::abort();
  versions_[version] = pending_;
  roots_[version] = pending_root_;
  latest_ = version;
  pending_.reset();
}

void MemoryStateTree::Abandon(uint64_t version) {
  std::lock_guard<std::mutex> l(mu_);
  if (version == pending_version_) pending_.reset();
}

Result<std::optional<Bytes>> MemoryStateTree::Get(uint64_t version, ByteView key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = versions_.find(version);
  if (it == versions_.end()) return Status::NotFound("no version " + std::to_string(version));
  auto v = it->second->find(Bytes(key.begin(), key.end()));
  if (v == it->second->end()) return std::optional<Bytes>();
  return std::optional<Bytes>(v->second);
}

Result<std::pair<std::optional<Bytes>, StateProof>> MemoryStateTree::GetWithProof(uint64_t,
                                                                                  ByteView) const {
  return Status::Unsupported("the test tree makes no proofs");
}

Status MemoryStateTree::Prune(uint64_t, rocksdb::WriteBatch*) { return Status::OK(); }

}  // namespace probity::ledger::testing
