// The versioned sparse Merkle tree (Jellyfish-style) over SHA-256(key), in RocksDB.
//
// Logical tree and hashes: state_hash.h. Physical nodes (radix 16, keyed by version and nibble
// path) and their encoding: node.h. Proof encoding: state_proof_codec.h.
//
// RocksDB layout, all in the column family given to Open. Integers in keys are big-endian (so
// keys sort numerically), integers in values little-endian.
//
//   "n" version:u64be len:u8 path[ceil(len/2)] -> node (node.h)
//       The node that `version` wrote at nibble path `path` (`len` nibbles, high nibble first,
//       unused low nibble 0). Never overwritten. Every version writes its root at path "".
//   "v" key_hash[32] ~version:u64be             -> 0x01 value | 0x00
//       Value history: the key was set (0x01) or deleted (0x00) by `version`. The version is
//       stored complemented so that one seek to (key_hash, ~v) finds the newest record <= v;
//       Get(v, key) is that seek. A leaf's value_version points at its record directly.
//   "r" version:u64be                          -> root[32]
//   "s" version:u64be chunk:u32be              -> (len:u8 db_key[len])*
//       Stale index: the node, value and root records that `version` made unreachable from
//       itself and every later version (chunks of at most ~64 KiB). Pruning up to `keep_from`
//       deletes every record listed under versions <= keep_from, then the lists themselves.
//   "mlatest"                                   -> version:u64le root[32]
//   "moldest"                                   -> version:u64le
//       The newest committed version and its root, and the oldest version not pruned. Written
//       in the same batch as the version (or the pruning), so a crash never leaves them ahead
//       of or behind the nodes.
//
// ApplyVersion sorts the version's writes by key hash and walks the latest tree once, top down,
// descending only into the subtrees that the writes touch; each touched node is rebuilt and
// hashed once, bottom up, as the recursion returns. Leaves are placed at the shallowest nibble
// depth that separates them: an insert next to a leaf pushes both down, a delete that leaves a
// single leaf in a subtree pulls it up (collapse), so the tree's depth grows with log16 of the
// number of keys. Nodes are read through a bounded LRU cache of decoded nodes; the nodes a
// version writes enter the cache when it is committed.
#include "probity/ledger/state_tree.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <span>

#include "node.h"
#include "node_cache.h"
#include "probity/primitives/encoding.h"
#include "state_hash.h"
#include "state_keys.h"
#include "state_proof_codec.h"

namespace probity::ledger {
namespace {

using namespace state_internal;

constexpr size_t kStaleChunkBytes = 64 * 1024;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(std::string(what) + ": " + s.ToString());
  return Status::IOError(std::string(what) + ": " + s.ToString());
}

rocksdb::Slice AsSlice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

// One write of a version after de-duplication (the last write of each key wins).
struct Update {
  Hash256 key_hash;
  Hash256 value_hash;  // when value != nullptr
  const Bytes* value;  // nullptr: delete
};

// A leaf on its way to a slot: its contents, and where it is stored now (if anywhere).
struct LeafItem {
  LeafNode leaf{};
  Hash256 hash{};
  bool stored = false;
  NodeKey at;
};

// What a subtree (one slot of a parent) holds after a version's writes.
struct Sub {
  enum Kind : uint8_t { kEmpty, kLeaf, kInternal };
  Kind kind = kEmpty;
  // False when the subtree is exactly the node it was (same key, nothing rewritten).
  bool changed = false;
  Hash256 hash{};
  uint64_t version = 0;  // unchanged leaf or any internal: the version of the stored node
  LeafItem leaf;         // changed leaf: the leaf to place
};

Sub SubFromChild(const InternalNode& node, unsigned nibble) {
  Sub s;
  if (!node.Has(nibble)) return s;
  const ChildRef& c = node.At(nibble);
  s.kind = node.IsLeaf(nibble) ? Sub::kLeaf : Sub::kInternal;
  s.hash = c.hash;
  s.version = c.version;
  return s;
}

struct Pending {
  uint64_t version = 0;
  Hash256 root{};
  std::vector<std::pair<NodeKey, std::shared_ptr<const Node>>> nodes;
  std::optional<uint64_t> new_oldest;
  std::vector<NodeKey> pruned_nodes;
};

class StateTreeImpl final : public StateTree {
 public:
  StateTreeImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const StateTreeOptions& options)
      : db_(db), cf_(cf), options_(options), cache_(options.node_cache_bytes) {}

  Status Load();

  uint64_t LatestVersion() const override {
    std::lock_guard lock(meta_mu_);
    return latest_;
  }
  uint64_t OldestVersion() const override {
    std::lock_guard lock(meta_mu_);
    return oldest_;
  }
  Result<Hash256> Root(uint64_t version) const override;
  Result<Hash256> ApplyVersion(uint64_t version, const std::vector<StateWrite>& writes,
                               rocksdb::WriteBatch* batch) override;
  void MarkCommitted(uint64_t version) override;
  void Abandon(uint64_t version) override;
  Result<std::optional<Bytes>> Get(uint64_t version, ByteView key) const override;
  Result<std::pair<std::optional<Bytes>, StateProof>> GetWithProof(uint64_t version,
                                                                   ByteView key) const override;
  Status Prune(uint64_t keep_from, rocksdb::WriteBatch* batch) override;
  StateTreeStats Stats() const override;

 private:
  friend class VersionBuilder;

  Status CheckReadable(uint64_t version) const;
  Result<std::shared_ptr<const Node>> ReadNode(const NodeKey& key) const;
  Result<LeafNode> ReadLeaf(const NodeKey& key) const;
  // Adds the deletions of every record made stale by versions in (from, to] to `batch`.
  Status CollectPrunable(uint64_t from, uint64_t to, rocksdb::WriteBatch* batch,
                         std::vector<NodeKey>* pruned_nodes);

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const StateTreeOptions options_;
  mutable NodeCache cache_;

  mutable std::mutex meta_mu_;
  uint64_t latest_ = 0;  // guarded by meta_mu_
  Hash256 latest_root_{};
  uint64_t oldest_ = 0;

  // Only touched by the serialised ApplyVersion / MarkCommitted / Abandon / Prune.
  std::optional<Pending> pending_;

  mutable std::atomic<uint64_t> node_reads_{0};
  mutable std::atomic<uint64_t> node_cache_hits_{0};
  std::atomic<uint64_t> nodes_written_{0};
  std::atomic<uint64_t> stale_recorded_{0};
  std::atomic<uint64_t> records_pruned_{0};
};

// Builds one version: the recursion over the touched subtrees, and every record it writes.
class VersionBuilder {
 public:
  VersionBuilder(StateTreeImpl& tree, uint64_t version, rocksdb::WriteBatch* batch,
                 Pending* pending)
      : tree_(tree), version_(version), batch_(batch), pending_(pending) {}

  // The new contents of the subtree at `path` that held `cur`, given the writes that fall in
  // it (sorted by key hash).
  Result<Sub> Apply(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  // Places the new root at (version, "") and returns the root hash.
  Result<Hash256> PlaceRoot(const Sub& root, uint64_t base);
  Status Finish(uint64_t base, const Hash256& root);

  uint64_t nodes_written() const { return nodes_written_; }
  uint64_t stale_recorded() const { return stale_recorded_; }

 private:
  Result<Sub> ApplyToLeaf(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  Result<Sub> ApplyToInternal(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  Result<Sub> Build(const NibblePath& path, std::span<LeafItem> items);
  Result<Sub> Assemble(const NibblePath& path, Sub (&subs)[16]);
  uint64_t PlaceLeaf(const LeafItem& item, const NibblePath& path);
  LeafItem NewLeaf(const Update& u);
  void PutNode(const NodeKey& key, std::shared_ptr<const Node> node);
  void MarkStaleNode(const NodeKey& key);
  void MarkStale(const std::string& db_key);
  void FlushStale();

  StateTreeImpl& tree_;
  const uint64_t version_;
  rocksdb::WriteBatch* const batch_;
  Pending* const pending_;
  std::string stale_chunk_;
  uint32_t stale_chunks_ = 0;
  uint64_t nodes_written_ = 0;
  uint64_t stale_recorded_ = 0;
};

void VersionBuilder::PutNode(const NodeKey& key, std::shared_ptr<const Node> node) {
  batch_->Put(tree_.cf_, AsSlice(NodeDbKey(key)), AsSlice(EncodeNode(*node)));
  pending_->nodes.emplace_back(key, std::move(node));
  ++nodes_written_;
}

void VersionBuilder::MarkStale(const std::string& db_key) {
  stale_chunk_.push_back(static_cast<char>(db_key.size()));
  stale_chunk_.append(db_key);
  ++stale_recorded_;
  if (stale_chunk_.size() >= kStaleChunkBytes) FlushStale();
}

void VersionBuilder::MarkStaleNode(const NodeKey& key) {
  // Roots are retired once, in Finish: every version writes a new root at path "".
  if (key.path.len == 0) return;
  MarkStale(NodeDbKey(key));
}

void VersionBuilder::FlushStale() {
  if (stale_chunk_.empty()) return;
  batch_->Put(tree_.cf_, AsSlice(StaleDbKey(version_, stale_chunks_++)), AsSlice(stale_chunk_));
  stale_chunk_.clear();
}

LeafItem VersionBuilder::NewLeaf(const Update& u) {
  std::string record;
  record.reserve(1 + u.value->size());
  record.push_back(1);
  record.append(reinterpret_cast<const char*>(u.value->data()), u.value->size());
  batch_->Put(tree_.cf_, AsSlice(ValueDbKey(u.key_hash, version_)), AsSlice(record));
  LeafItem item;
  item.leaf = LeafNode{u.key_hash, u.value_hash, version_};
  item.hash = LeafHash(u.key_hash, u.value_hash);
  return item;
}

uint64_t VersionBuilder::PlaceLeaf(const LeafItem& item, const NibblePath& path) {
  if (item.stored && item.at.path == path) return item.at.version;
  if (item.stored) MarkStaleNode(item.at);
  auto node = std::make_shared<Node>();
  node->kind = NodeKind::kLeaf;
  node->leaf = item.leaf;
  PutNode(NodeKey{version_, path}, std::move(node));
  return version_;
}

Result<Sub> VersionBuilder::Apply(const Sub& cur, const NibblePath& path,
                                  std::span<const Update> ups) {
  if (ups.empty()) return cur;
  switch (cur.kind) {
    case Sub::kEmpty: {
      std::vector<LeafItem> items;
      for (const Update& u : ups) {
        if (u.value != nullptr) items.push_back(NewLeaf(u));
      }
      if (items.empty()) return cur;  // only deletes of absent keys
      return Build(path, items);
    }
    case Sub::kLeaf:
      return ApplyToLeaf(cur, path, ups);
    case Sub::kInternal:
      return ApplyToInternal(cur, path, ups);
  }
  return Status::Internal("state tree: unknown subtree kind");
}

Result<Sub> VersionBuilder::ApplyToLeaf(const Sub& cur, const NibblePath& path,
                                        std::span<const Update> ups) {
  LeafItem old;
  old.at = NodeKey{cur.version, path};
  old.stored = true;
  PROBITY_ASSIGN_OR_RETURN(old.leaf, tree_.ReadLeaf(old.at));
  old.hash = cur.hash;

  std::vector<LeafItem> items;
  bool keep_old = true;
  for (const Update& u : ups) {
    if (u.key_hash == old.leaf.key_hash) {
      if (u.value != nullptr && u.value_hash == old.leaf.value_hash) continue;  // same value
      keep_old = false;
      MarkStaleNode(old.at);
      MarkStale(ValueDbKey(old.leaf.key_hash, old.leaf.value_version));
      if (u.value != nullptr) {
        items.push_back(NewLeaf(u));
      } else {
        // The tombstone hides older values from Get(v >= version_); it may go as soon as
        // those older values go, i.e. when version_ itself is pruned.
        std::string tombstone = ValueDbKey(u.key_hash, version_);
        batch_->Put(tree_.cf_, AsSlice(tombstone), rocksdb::Slice("\0", 1));
        MarkStale(tombstone);
      }
    } else if (u.value != nullptr) {
      items.push_back(NewLeaf(u));
    }
  }
  if (keep_old) {
    if (items.empty()) return cur;
    auto pos =
        std::lower_bound(items.begin(), items.end(), old.leaf.key_hash,
                         [](const LeafItem& a, const Hash256& k) { return a.leaf.key_hash < k; });
    items.insert(pos, old);
  }
  return Build(path, items);
}

Result<Sub> VersionBuilder::ApplyToInternal(const Sub& cur, const NibblePath& path,
                                            std::span<const Update> ups) {
  const NodeKey key{cur.version, path};
  PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node, tree_.ReadNode(key));
  if (node->kind != NodeKind::kInternal) {
    return Status::Corruption("state tree: expected an internal node at version " +
                              std::to_string(cur.version));
  }
  const InternalNode& n = node->internal;
  Sub subs[16];
  for (unsigned i = 0; i < 16; ++i) subs[i] = SubFromChild(n, i);
  bool changed = false;
  const unsigned depth = path.len;
  size_t lo = 0;
  while (lo < ups.size()) {
    unsigned nib = KeyNibble(ups[lo].key_hash, depth);
    size_t hi = lo + 1;
    while (hi < ups.size() && KeyNibble(ups[hi].key_hash, depth) == nib) ++hi;
    PROBITY_ASSIGN_OR_RETURN(subs[nib],
                             Apply(subs[nib], path.Child(nib), ups.subspan(lo, hi - lo)));
    changed |= subs[nib].changed;
    lo = hi;
  }
  if (!changed) return cur;
  MarkStaleNode(key);
  return Assemble(path, subs);
}

Result<Sub> VersionBuilder::Build(const NibblePath& path, std::span<LeafItem> items) {
  Sub out;
  out.changed = true;
  if (items.empty()) return out;
  if (items.size() == 1) {
    out.kind = Sub::kLeaf;
    out.leaf = items[0];
    out.hash = items[0].hash;
    return out;
  }
  Sub subs[16];
  const unsigned depth = path.len;
  size_t lo = 0;
  while (lo < items.size()) {
    unsigned nib = KeyNibble(items[lo].leaf.key_hash, depth);
    size_t hi = lo + 1;
    while (hi < items.size() && KeyNibble(items[hi].leaf.key_hash, depth) == nib) ++hi;
    PROBITY_ASSIGN_OR_RETURN(subs[nib], Build(path.Child(nib), items.subspan(lo, hi - lo)));
    lo = hi;
  }
  return Assemble(path, subs);
}

Result<Sub> VersionBuilder::Assemble(const NibblePath& path, Sub (&subs)[16]) {
  unsigned count = 0;
  unsigned last = 0;
  for (unsigned i = 0; i < 16; ++i) {
    if (subs[i].kind != Sub::kEmpty) {
      ++count;
      last = i;
    }
  }
  Sub out;
  out.changed = true;
  if (count == 0) return out;
  if (count == 1 && subs[last].kind == Sub::kLeaf) {
    // A single leaf left in this subtree: it moves up here (and perhaps further).
    out = subs[last];
    out.changed = true;
    if (!subs[last].changed) {
      out.leaf.at = NodeKey{subs[last].version, path.Child(last)};
      out.leaf.stored = true;
      PROBITY_ASSIGN_OR_RETURN(out.leaf.leaf, tree_.ReadLeaf(out.leaf.at));
      out.leaf.hash = subs[last].hash;
    }
    return out;
  }
  auto node = std::make_shared<Node>();
  node->kind = NodeKind::kInternal;
  InternalNode& n = node->internal;
  n.children.reserve(count);
  for (unsigned i = 0; i < 16; ++i) {
    const Sub& s = subs[i];
    if (s.kind == Sub::kEmpty) continue;
    n.present |= static_cast<uint16_t>(1u << i);
    ChildRef c{s.hash, s.version};
    if (s.kind == Sub::kLeaf) {
      n.leaves |= static_cast<uint16_t>(1u << i);
      if (s.changed) c.version = PlaceLeaf(s.leaf, path.Child(i));
    }
    n.children.push_back(c);
  }
  out.kind = Sub::kInternal;
  out.hash = SlotRangeHash(n, 0, 16);
  out.version = version_;
  PutNode(NodeKey{version_, path}, std::move(node));
  return out;
}

Result<Hash256> VersionBuilder::PlaceRoot(const Sub& root, uint64_t base) {
  const NodeKey key{version_, NibblePath{}};
  switch (root.kind) {
    case Sub::kEmpty: {
      PutNode(key, std::make_shared<Node>());
      return EmptySubtreeHash();
    }
    case Sub::kLeaf: {
      LeafItem item = root.leaf;
      if (!root.changed) {
        item.at = NodeKey{root.version, NibblePath{}};
        item.stored = true;
        PROBITY_ASSIGN_OR_RETURN(item.leaf, tree_.ReadLeaf(item.at));
        item.hash = root.hash;
      }
      if (item.stored) MarkStaleNode(item.at);
      auto node = std::make_shared<Node>();
      node->kind = NodeKind::kLeaf;
      node->leaf = item.leaf;
      PutNode(key, std::move(node));
      return item.hash;
    }
    case Sub::kInternal: {
      if (root.version != version_) {
        // Nothing changed below the root: the new version still gets its own root node.
        PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> old,
                                 tree_.ReadNode(NodeKey{base, NibblePath{}}));
        PutNode(key, old);
      }
      return root.hash;
    }
  }
  return Status::Internal("state tree: unknown root kind");
}

Status VersionBuilder::Finish(uint64_t base, const Hash256& root) {
  if (base > 0) {
    MarkStale(NodeDbKey(NodeKey{base, NibblePath{}}));
    MarkStale(RootDbKey(base));
  }
  FlushStale();
  batch_->Put(tree_.cf_, AsSlice(RootDbKey(version_)),
              rocksdb::Slice(reinterpret_cast<const char*>(root.data()), root.size()));
  char latest[40];
  PutU64LE(reinterpret_cast<uint8_t*>(latest), version_);
  std::memcpy(latest + 8, root.data(), 32);
  batch_->Put(tree_.cf_, rocksdb::Slice(kLatestKey.data(), kLatestKey.size()),
              rocksdb::Slice(latest, sizeof latest));
  return Status::OK();
}

// The writes of a version, one per key hash (the last one wins), sorted by key hash.
std::vector<Update> PrepareUpdates(const std::vector<StateWrite>& writes) {
  std::vector<std::pair<Update, size_t>> tagged;
  tagged.reserve(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    const StateWrite& w = writes[i];
    Update u{KeyHash(w.key), {}, nullptr};
    if (w.value) {
      u.value = &*w.value;
      u.value_hash = ValueHash(*w.value);
    }
    tagged.emplace_back(u, i);
  }
  std::sort(tagged.begin(), tagged.end(), [](const auto& a, const auto& b) {
    if (a.first.key_hash != b.first.key_hash) return a.first.key_hash < b.first.key_hash;
    return a.second < b.second;
  });
  std::vector<Update> out;
  out.reserve(tagged.size());
  for (size_t i = 0; i < tagged.size(); ++i) {
    if (i + 1 < tagged.size() && tagged[i + 1].first.key_hash == tagged[i].first.key_hash) {
      continue;
    }
    out.push_back(tagged[i].first);
  }
  return out;
}

Status StateTreeImpl::Load() {
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                               rocksdb::Slice(kLatestKey.data(), kLatestKey.size()), &v);
  if (s.IsNotFound()) {
    latest_ = 0;
    latest_root_ = EmptySubtreeHash();
  } else {
    PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading the latest version"));
    if (v.size() != 40) return Status::Corruption("state tree: bad latest-version record");
    latest_ = GetU64LE(reinterpret_cast<const uint8_t*>(v.data()));
    std::memcpy(latest_root_.data(), v.data() + 8, 32);
  }
  s = db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(kOldestKey.data(), kOldestKey.size()),
               &v);
  if (s.IsNotFound()) {
    oldest_ = 0;
  } else {
    PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading the oldest version"));
    if (v.size() != 8) return Status::Corruption("state tree: bad oldest-version record");
    oldest_ = GetU64LE(reinterpret_cast<const uint8_t*>(v.data()));
    if (oldest_ > latest_) return Status::Corruption("state tree: oldest version after latest");
  }
  return Status::OK();
}

Status StateTreeImpl::CheckReadable(uint64_t version) const {
  std::lock_guard lock(meta_mu_);
  if (version > latest_) {
    return Status::NotFound("state version " + std::to_string(version) +
                            " is not committed (latest is " + std::to_string(latest_) + ")");
  }
  if (version < oldest_) {
    return Status::NotFound("state version " + std::to_string(version) + " was pruned (oldest is " +
                            std::to_string(oldest_) + ")");
  }
  return Status::OK();
}

Result<std::shared_ptr<const Node>> StateTreeImpl::ReadNode(const NodeKey& key) const {
  // Version 0 is the empty tree; it has no records.
  static const auto kNullRoot = std::make_shared<const Node>();
  if (key.version == 0) return kNullRoot;
  node_reads_.fetch_add(1, std::memory_order_relaxed);
  if (auto hit = cache_.Lookup(key)) {
    node_cache_hits_.fetch_add(1, std::memory_order_relaxed);
    return hit;
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, AsSlice(NodeDbKey(key)), &value);
  if (s.IsNotFound()) {
    PROBITY_RETURN_IF_ERROR(CheckReadable(key.version));
    return Status::Corruption("state tree: node of version " + std::to_string(key.version) +
                              " at depth " + std::to_string(key.path.len) + " is missing");
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading a node"));
  PROBITY_ASSIGN_OR_RETURN(
      Node node,
      DecodeNode(ByteView(reinterpret_cast<const uint8_t*>(value.data()), value.size())));
  auto shared = std::make_shared<const Node>(std::move(node));
  cache_.Insert(key, shared);
  return shared;
}

Result<LeafNode> StateTreeImpl::ReadLeaf(const NodeKey& key) const {
  PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node, ReadNode(key));
  if (node->kind != NodeKind::kLeaf) {
    return Status::Corruption("state tree: expected a leaf at version " +
                              std::to_string(key.version));
  }
  return node->leaf;
}

Result<Hash256> StateTreeImpl::Root(uint64_t version) const {
  {
    std::lock_guard lock(meta_mu_);
    if (version == latest_ && version >= oldest_) return latest_root_;
  }
  PROBITY_RETURN_IF_ERROR(CheckReadable(version));
  if (version == 0) return EmptySubtreeHash();
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, AsSlice(RootDbKey(version)), &v);
  if (s.IsNotFound()) {
    PROBITY_RETURN_IF_ERROR(CheckReadable(version));
    return Status::Corruption("state tree: root of version " + std::to_string(version) +
                              " is missing");
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading a root"));
  if (v.size() != 32) return Status::Corruption("state tree: bad root record");
  Hash256 root;
  std::memcpy(root.data(), v.data(), 32);
  return root;
}

Result<Hash256> StateTreeImpl::ApplyVersion(uint64_t version, const std::vector<StateWrite>& writes,
                                            rocksdb::WriteBatch* batch) {
  uint64_t base;
  Hash256 base_root;
  uint64_t oldest;
  {
    std::lock_guard lock(meta_mu_);
    base = latest_;
    base_root = latest_root_;
    oldest = oldest_;
  }
  if (version != base + 1) {
    return Status::FailedPrecondition("state tree: cannot apply version " +
                                      std::to_string(version) + " on top of version " +
                                      std::to_string(base));
  }
  pending_.reset();
  Pending pending;
  pending.version = version;
  pending.nodes.reserve(writes.size() * 2 + 16);

  std::vector<Update> ups = PrepareUpdates(writes);
  VersionBuilder builder(*this, version, batch, &pending);
  Sub root;
  if (base > 0) {
    PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node,
                             ReadNode(NodeKey{base, NibblePath{}}));
    root.hash = base_root;
    root.version = base;
    if (node->kind == NodeKind::kInternal) root.kind = Sub::kInternal;
    if (node->kind == NodeKind::kLeaf) root.kind = Sub::kLeaf;
  }
  PROBITY_ASSIGN_OR_RETURN(Sub new_root, builder.Apply(root, NibblePath{}, ups));
  PROBITY_ASSIGN_OR_RETURN(Hash256 root_hash, builder.PlaceRoot(new_root, base));
  PROBITY_RETURN_IF_ERROR(builder.Finish(base, root_hash));
  nodes_written_.fetch_add(builder.nodes_written(), std::memory_order_relaxed);
  stale_recorded_.fetch_add(builder.stale_recorded(), std::memory_order_relaxed);

  if (options_.keep_recent_versions > 0) {
    uint64_t keep = std::max<uint64_t>(options_.keep_recent_versions, 2);
    if (version > keep && version - keep + 1 > oldest) {
      uint64_t keep_from = version - keep + 1;  // <= base, so its stale lists are all on disk
      PROBITY_RETURN_IF_ERROR(CollectPrunable(oldest, keep_from, batch, &pending.pruned_nodes));
      char rec[8];
      PutU64LE(reinterpret_cast<uint8_t*>(rec), keep_from);
      batch->Put(cf_, rocksdb::Slice(kOldestKey.data(), kOldestKey.size()), rocksdb::Slice(rec, 8));
      pending.new_oldest = keep_from;
    }
  }
  pending.root = root_hash;
  pending_ = std::move(pending);
  return root_hash;
}

void StateTreeImpl::MarkCommitted(uint64_t version) {
  if (!pending_ || pending_->version != version) {
    std::fprintf(stderr,
                 "probity: state tree: MarkCommitted(%llu) without a matching ApplyVersion; the "
                 "database and the tree disagree\n",
                 static_cast<unsigned long long>(version));
    std::abort();
  }
  {
    std::lock_guard lock(meta_mu_);
    latest_ = version;
    latest_root_ = pending_->root;
    if (pending_->new_oldest) oldest_ = *pending_->new_oldest;
  }
  for (const NodeKey& k : pending_->pruned_nodes) cache_.Erase(k);
  for (auto& [key, node] : pending_->nodes) cache_.Insert(key, std::move(node));
  pending_.reset();
}

void StateTreeImpl::Abandon(uint64_t version) {
  if (pending_ && pending_->version == version) pending_.reset();
}

Result<std::optional<Bytes>> StateTreeImpl::Get(uint64_t version, ByteView key) const {
  PROBITY_RETURN_IF_ERROR(CheckReadable(version));
  const Hash256 kh = KeyHash(key);
  std::string lower = ValueDbKey(kh, version);
  // Upper bound: just past the oldest possible record of this key (version 0, ~0 = all ones).
  std::string upper = ValueDbKey(kh, 0);
  upper.push_back('\0');
  rocksdb::Slice upper_slice = AsSlice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  it->Seek(AsSlice(lower));
  if (!it->Valid()) {
    PROBITY_RETURN_IF_ERROR(FromRocks(it->status(), "state tree: reading a value"));
    return std::optional<Bytes>();
  }
  rocksdb::Slice v = it->value();
  if (v.size() == 1 && v[0] == 0) return std::optional<Bytes>();
  if (v.empty() || v[0] != 1) return Status::Corruption("state tree: bad value record");
  return std::optional<Bytes>(Bytes(v.data() + 1, v.data() + v.size()));
}

Result<std::pair<std::optional<Bytes>, StateProof>> StateTreeImpl::GetWithProof(
    uint64_t version, ByteView key) const {
  PROBITY_RETURN_IF_ERROR(CheckReadable(version));
  const Hash256 kh = KeyHash(key);
  ProofBody body;
  std::vector<Hash256> top_down;
  NodeKey at{version, NibblePath{}};
  PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> node, ReadNode(at));
  while (node->kind == NodeKind::kInternal) {
    if (at.path.len >= 64) return Status::Corruption("state tree: path deeper than 64 nibbles");
    unsigned nib = KeyNibble(kh, at.path.len);
    SlotWalk walk = WalkSlots(node->internal, nib, &top_down);
    if (walk.kind == SlotWalk::kEmpty) {
      node.reset();
      break;
    }
    const ChildRef& c = node->internal.At(walk.slot);
    at = NodeKey{c.version, at.path.Child(walk.slot)};
    PROBITY_ASSIGN_OR_RETURN(node, ReadNode(at));
    NodeKind expected = walk.kind == SlotWalk::kLeaf ? NodeKind::kLeaf : NodeKind::kInternal;
    if (node->kind != expected) {
      return Status::Corruption("state tree: a child node is not of the kind its parent says");
    }
  }
  std::optional<Bytes> value;
  if (node && node->kind == NodeKind::kLeaf) {
    body.has_leaf = true;
    body.leaf_key_hash = node->leaf.key_hash;
    body.leaf_value_hash = node->leaf.value_hash;
    if (node->leaf.key_hash == kh) {
      std::string v;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                                   AsSlice(ValueDbKey(kh, node->leaf.value_version)), &v);
      if (s.IsNotFound()) {
        PROBITY_RETURN_IF_ERROR(CheckReadable(version));
        return Status::Corruption("state tree: the value of a leaf is missing");
      }
      PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading a value"));
      if (v.empty() || v[0] != 1) return Status::Corruption("state tree: bad value record");
      Bytes bytes(v.begin() + 1, v.end());
      if (ValueHash(bytes) != node->leaf.value_hash) {
        return Status::Corruption("state tree: a stored value does not match its leaf");
      }
      value = std::move(bytes);
    }
  }
  body.siblings.assign(top_down.rbegin(), top_down.rend());
  StateProof proof{EncodeProofBody(body)};
  return std::make_pair(std::move(value), std::move(proof));
}

Status StateTreeImpl::CollectPrunable(uint64_t from, uint64_t to, rocksdb::WriteBatch* batch,
                                      std::vector<NodeKey>* pruned_nodes) {
  std::string lower = StaleDbKey(from + 1, 0);
  std::string upper = StaleDbKey(to + 1, 0);
  rocksdb::Slice upper_slice = AsSlice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  uint64_t pruned = 0;
  for (it->Seek(AsSlice(lower)); it->Valid(); it->Next()) {
    rocksdb::Slice list = it->value();
    size_t pos = 0;
    while (pos < list.size()) {
      size_t len = static_cast<uint8_t>(list[pos]);
      if (list.size() - pos - 1 < len) return Status::Corruption("state tree: bad stale list");
      rocksdb::Slice key(list.data() + pos + 1, len);
      batch->Delete(cf_, key);
      if (auto nk = ParseNodeDbKey(std::string_view(key.data(), key.size()))) {
        pruned_nodes->push_back(*nk);
      }
      ++pruned;
      pos += 1 + len;
    }
    batch->Delete(cf_, it->key());
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(it->status(), "state tree: reading the stale index"));
  records_pruned_.fetch_add(pruned, std::memory_order_relaxed);
  return Status::OK();
}

Status StateTreeImpl::Prune(uint64_t keep_from, rocksdb::WriteBatch* batch) {
  uint64_t oldest, latest;
  {
    std::lock_guard lock(meta_mu_);
    oldest = oldest_;
    latest = latest_;
  }
  if (keep_from < oldest || keep_from > latest) {
    return Status::InvalidArgument("state tree: cannot prune to version " +
                                   std::to_string(keep_from) + ": readable versions are " +
                                   std::to_string(oldest) + ".." + std::to_string(latest));
  }
  if (keep_from == oldest) return Status::OK();
  std::vector<NodeKey> pruned_nodes;
  PROBITY_RETURN_IF_ERROR(CollectPrunable(oldest, keep_from, batch, &pruned_nodes));
  char rec[8];
  PutU64LE(reinterpret_cast<uint8_t*>(rec), keep_from);
  batch->Put(cf_, rocksdb::Slice(kOldestKey.data(), kOldestKey.size()), rocksdb::Slice(rec, 8));
  {
    std::lock_guard lock(meta_mu_);
    oldest_ = keep_from;
  }
  for (const NodeKey& k : pruned_nodes) cache_.Erase(k);
  return Status::OK();
}

StateTreeStats StateTreeImpl::Stats() const {
  StateTreeStats s;
  {
    std::lock_guard lock(meta_mu_);
    s.latest_version = latest_;
    s.oldest_version = oldest_;
  }
  s.node_reads = node_reads_.load(std::memory_order_relaxed);
  s.node_cache_hits = node_cache_hits_.load(std::memory_order_relaxed);
  s.nodes_written = nodes_written_.load(std::memory_order_relaxed);
  s.stale_recorded = stale_recorded_.load(std::memory_order_relaxed);
  s.records_pruned = records_pruned_.load(std::memory_order_relaxed);
  s.cache_bytes = cache_.bytes();
  s.cache_entries = cache_.entries();
  return s;
}

}  // namespace

Result<std::unique_ptr<StateTree>> StateTree::Open(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                                   const StateTreeOptions& options) {
  if (db == nullptr || cf == nullptr) {
    return Status::InvalidArgument("state tree: Open needs a database and a column family");
  }
  auto tree = std::make_unique<StateTreeImpl>(db, cf, options);
  PROBITY_RETURN_IF_ERROR(tree->Load());
  return std::unique_ptr<StateTree>(std::move(tree));
}

}  // namespace probity::ledger
