// The authenticated state: a versioned sparse Merkle tree over SHA-256(key), in the style of
// the Jellyfish Merkle Tree, persisted in RocksDB.
//
// Every block's state changes become one new version; the root of a version is the app hash.
// Old versions stay readable (with proofs) until pruned. Keys and values are arbitrary bytes;
// the tree is keyed by SHA-256(key), so its depth is bounded by 256 and its shape does not
// depend on the order of insertion.
//
// The tree never commits on its own: ApplyVersion writes its nodes into the caller's
// rocksdb::WriteBatch, so that the block, its indexes and its state land in one synced write
// (a crash leaves the last committed version whole, and nothing of a later one).
//
// Thread-safety: reads (Get, GetWithProof, Root) may run concurrently with each other and with
// ApplyVersion for a different version; ApplyVersion calls must be serialised by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace probity::ledger {

// One change in a version: set key to value, or delete key (value == nullopt).
struct StateWrite {
  Bytes key;
  std::optional<Bytes> value;
};

// A proof that `key` maps to a value (inclusion) or to nothing (exclusion) under a root.
// Serialisable so that it can travel in a gRPC reply.
struct StateProof {
  // Sibling hashes from the leaf's level up to the root, and how the leaf was found; the
  // encoding is specified in docs/ledger.md.
  Bytes encoded;
};

// The root of an empty tree.
Hash256 EmptyStateRoot();

// Checks, without any database, that `proof` shows key -> value (or key absent when value is
// nullopt) under `root`. This is what a light client (the CLI) runs against a signed header's
// app hash.
Status VerifyStateProof(const Hash256& root, ByteView key, const std::optional<Bytes>& value,
                        const StateProof& proof);

class StateTree {
 public:
  // Opens the tree stored in `cf` of `db` (not owned; must outlive the tree).
  static Result<std::unique_ptr<StateTree>> Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf);
  virtual ~StateTree() = default;

  // The newest version written and committed (0 = empty genesis tree before InitChain).
  virtual uint64_t LatestVersion() const = 0;
  // kNotFound for a version that was never written or was pruned.
  virtual Result<Hash256> Root(uint64_t version) const = 0;

  // Builds version `version` = LatestVersion() + 1 from the latest one plus `writes` (later
  // writes to the same key win), adds its nodes to `batch`, and returns its root. Root hashes
  // are computed in one pass per version (batched), not once per write. The version becomes
  // readable after the caller has written `batch` and called MarkCommitted(version).
  virtual Result<Hash256> ApplyVersion(uint64_t version, const std::vector<StateWrite>& writes,
                                       rocksdb::WriteBatch* batch) = 0;
  virtual void MarkCommitted(uint64_t version) = 0;
  // Forgets an applied but uncommitted version (its batch was never written).
  virtual void Abandon(uint64_t version) = 0;

  virtual Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const = 0;
  virtual Result<std::pair<std::optional<Bytes>, StateProof>> GetWithProof(uint64_t version,
                                                                           ByteView key) const = 0;

  // Deletes nodes only reachable from versions < `keep_from` (into `batch`).
  virtual Status Prune(uint64_t keep_from, rocksdb::WriteBatch* batch) = 0;
};

}  // namespace probity::ledger
