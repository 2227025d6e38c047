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
// Thread-safety: reads (Get, GetWithProof, Root, LatestVersion, OldestVersion, Stats) may run
// concurrently with each other and with ApplyVersion for a different version; ApplyVersion,
// MarkCommitted, Abandon and Prune must be serialised by the caller. A read of a version that
// is being pruned at the same moment may fail with kNotFound.
//
// Design, hashing, the RocksDB key layout and the proof encoding are specified in the comments
// at the top of ledger/state/src/state_tree.cc, state_hash.h, node.h and state_proof_codec.h.
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
  // How the key's path ends (in its own leaf, another key's leaf, or an empty subtree) and the
  // sibling hashes from that level up to the root. One canonical encoding per proof:
  //   proof    := terminal count:u16le empty_bitmap sibling*
  //   terminal := 0x00 | 0x01 key_hash[32] value_hash[32]
  //   empty_bitmap := ceil(count/8) bytes, bit i (LSB first) set = sibling i is the empty hash
  //   sibling  := hash[32] for each sibling whose bit is clear, deepest first
  // (details in ledger/state/src/state_proof_codec.h; copied in docs/ledger.md).
  Bytes encoded;
};

// The root of an empty tree: tagged_hash("probity/state/empty", "").
Hash256 EmptyStateRoot();

// Checks, without any database, that `proof` shows key -> value (or key absent when value is
// nullopt) under `root`. This is what a light client (the CLI) runs against a signed header's
// app hash. OK only if all of it holds; kInvalidArgument for a malformed proof (truncated,
// extended, non-canonical), kUnauthenticated for a well-formed proof of something else (other
// root, key, value, or presence). Never reads outside `proof.encoded`, whatever it holds.
Status VerifyStateProof(const Hash256& root, ByteView key, const std::optional<Bytes>& value,
                        const StateProof& proof);

struct StateTreeOptions {
  // Memory for decoded nodes. The latest tree is kept in memory, each node linked to its
  // children, down to the depth that fits (all of it for up to ~1M keys at the default), and a
  // cache by key (a quarter of the budget) holds the rest of the recently used nodes; so
  // ApplyVersion and reads of the latest version rarely go to RocksDB. 0 keeps nothing.
  size_t node_cache_bytes = size_t{256} << 20;
  // Threads ApplyVersion uses for a version of at least 1,024 writes: each builds a range of
  // the root's 16 subtrees (hashing dominates, and it splits evenly). 1 keeps it all on the
  // calling thread. Results do not depend on it.
  unsigned apply_threads = 2;
  // When > 0, ApplyVersion(v) also prunes, in the same batch, every version older than the
  // newest `keep_recent_versions` (the pruning takes effect at MarkCommitted). 0 keeps all
  // versions until Prune is called. Values below 2 are treated as 2.
  uint64_t keep_recent_versions = 0;
};

struct StateTreeStats {
  uint64_t latest_version = 0;
  uint64_t oldest_version = 0;
  uint64_t node_reads = 0;         // node lookups (cache or RocksDB), since Open
  uint64_t node_cache_hits = 0;    // of which served from memory
  uint64_t nodes_written = 0;      // nodes put into batches by ApplyVersion, since Open
  uint64_t stale_recorded = 0;     // node and value records marked stale, since Open
  uint64_t records_pruned = 0;     // records deleted by pruning, since Open
  uint64_t apply_cpu_ns = 0;       // CPU time of ApplyVersion on all its threads, since Open
  uint64_t node_memory_bytes = 0;  // now: all decoded nodes held (linked tree and cache)
  uint64_t cache_bytes = 0;        // now: of which in the by-key cache
  uint64_t cache_entries = 0;      // now: nodes in the by-key cache
  uint64_t link_depth = 0;         // now: nodes shallower than this are linked in memory
};

class StateTree {
 public:
  // Opens the tree stored in `cf` of `db` (not owned; both must outlive the tree). A fresh
  // column family holds the empty tree at version 0; otherwise the tree continues from the
  // last version whose batch was written. kCorruption if the stored metadata is unreadable.
  static Result<std::unique_ptr<StateTree>> Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                 const StateTreeOptions& options = {});
  virtual ~StateTree() = default;

  // The newest version written and committed (0 = empty genesis tree before InitChain).
  virtual uint64_t LatestVersion() const = 0;
  // The oldest version still readable (0 until something is pruned).
  virtual uint64_t OldestVersion() const = 0;
  // kNotFound for a version that was never written or was pruned.
  virtual Result<Hash256> Root(uint64_t version) const = 0;

  // Builds version `version` = LatestVersion() + 1 from the latest one plus `writes` (later
  // writes to the same key win), adds its nodes to `batch`, and returns its root. Root hashes
  // are computed in one pass per version (batched), not once per write. The version becomes
  // readable after the caller has written `batch` and called MarkCommitted(version). Nothing
  // is written to the database here. Applying a version again before MarkCommitted replaces
  // the earlier attempt (as Abandon would). Every version gets a root, also with no writes.
  // kFailedPrecondition if `version` != LatestVersion() + 1; kIOError / kCorruption if a node
  // cannot be read. On error `batch` may hold a partial version and must be discarded.
  // A version adds about 250 (10^5 keys) to 550 (10^6 keys) bytes per written key to `batch`;
  // building the batch with rocksdb::WriteBatch(reserved_bytes) spares it regrowing.
  virtual Result<Hash256> ApplyVersion(uint64_t version, const std::vector<StateWrite>& writes,
                                       rocksdb::WriteBatch* batch) = 0;
  // REQUIRES: the batch of ApplyVersion(version) has been written. Aborts if `version` is not
  // the version last applied: the database and the tree would disagree.
  virtual void MarkCommitted(uint64_t version) = 0;
  // Forgets an applied but uncommitted version (its batch was never written). No-op for a
  // version that is not pending.
  virtual void Abandon(uint64_t version) = 0;

  // The value of `key` at `version` (nullopt if absent). kNotFound for an unreadable version.
  virtual Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const = 0;
  // The same, with a proof against Root(version) that VerifyStateProof accepts.
  virtual Result<std::pair<std::optional<Bytes>, StateProof>> GetWithProof(uint64_t version,
                                                                           ByteView key) const = 0;

  // Adds to `batch` the deletion of every node and value record reachable only from versions
  // < `keep_from`, and makes those versions unreadable at once (OldestVersion() = keep_from).
  // REQUIRES: the caller writes `batch`. kInvalidArgument unless OldestVersion() <= keep_from
  // <= LatestVersion().
  virtual Status Prune(uint64_t keep_from, rocksdb::WriteBatch* batch) = 0;

  virtual StateTreeStats Stats() const = 0;
};

}  // namespace probity::ledger
