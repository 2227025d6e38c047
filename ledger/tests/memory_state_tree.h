// TEST ONLY: an in-memory stand-in for the StateTree interface, used by the ledger's unit
// tests until they run against the real tree (ledger/state). Its "root" is a hash over all
// entries, not a Merkle tree, and it produces no proofs; it never reaches the product.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "probity/ledger/state_tree.h"

namespace probity::ledger::testing {

class MemoryStateTree final : public StateTree {
 public:
  uint64_t LatestVersion() const override;
  Result<Hash256> Root(uint64_t version) const override;
  Result<Hash256> ApplyVersion(uint64_t version, const std::vector<StateWrite>& writes,
                               rocksdb::WriteBatch* batch) override;
  void MarkCommitted(uint64_t version) override;
  void Abandon(uint64_t version) override;
  Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const override;
  Result<std::pair<std::optional<Bytes>, StateProof>> GetWithProof(uint64_t version,
                                                                   ByteView key) const override;
  Status Prune(uint64_t keep_from, rocksdb::WriteBatch* batch) override;

 private:
  using Map = std::map<Bytes, Bytes>;
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<const Map>> versions_;  // committed
  std::map<uint64_t, Hash256> roots_;
  uint64_t latest_ = 0;
  std::shared_ptr<const Map> pending_;
  uint64_t pending_version_ = 0;
  Hash256 pending_root_{};
};

}  // namespace probity::ledger::testing
