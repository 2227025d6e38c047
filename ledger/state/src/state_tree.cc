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
//       Leaves live inside their parent's record (node.h).
//   "v" key_hash[32] version:u64be              -> value
//       A value of more than 32 bytes that `version` set for the key; its leaf's value_version
//       names the record. (Values of up to 32 bytes live inside their leaf, node.h.) So Get is
//       a walk down the in-memory tree, plus one point read for a large value.
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
// number of keys. A write of the value a key already has changes nothing. A large version is
// split by the root's 16 subtrees over StateTreeOptions::apply_threads builders. Records are
// gathered first and put into the batch in key order at the end.
//
// Memory: the latest tree is kept decoded and linked parent to child (Node::children[].node)
// down to a depth that keeps all decoded nodes within StateTreeOptions::node_cache_bytes;
// nodes below it, and nodes of older versions, are read through a cache by key
// (node_cache.h). A new version shares every unchanged node with the previous one; the nodes
// it replaced are freed at MarkCommitted (or when the last reader of the old version is done).
#include "probity/ledger/state_tree.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>

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
constexpr unsigned kMaxLinkDepth = 65;  // every node (paths have at most 64 nibbles)
// Versions with fewer writes are built on the calling thread alone.
constexpr size_t kParallelMinWrites = 1024;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  if (s.IsCorruption()) return Status::Corruption(std::string(what) + ": " + s.ToString());
  return Status::IOError(std::string(what) + ": " + s.ToString());
}

rocksdb::Slice AsSlice(const DbKey& k) { return rocksdb::Slice(k.data(), k.size()); }
rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// One write of a version after de-duplication (the last write of each key wins).
struct Update {
  Hash256 key_hash;
  Hash256 value_hash;  // when value != nullptr
  const Bytes* value;  // nullptr: delete
};

// What a subtree (one slot of a parent) holds after a version's writes.
struct Sub {
  enum Kind : uint8_t { kEmpty, kLeaf, kInternal };
  Kind kind = kEmpty;
  // False when the subtree is exactly what it was (nothing below it rewritten).
  bool changed = false;
  Hash256 hash{};
  uint64_t version = 0;  // kInternal: the version of the stored node
  // kLeaf: the leaf, in a node the builder keeps alive or in its own store of new leaves.
  const LeafNode* leaf = nullptr;
  // kInternal: the node, when it is in memory (so that the new parent can link it).
  std::shared_ptr<const Node> node;
};

Sub SubFromChild(const InternalNode& node, unsigned nibble) {
  Sub s;
  if (!node.Has(nibble)) return s;
  const ChildRef& c = node.At(nibble);
  s.hash = c.hash;
  if (node.IsLeaf(nibble)) {
    s.kind = Sub::kLeaf;
    s.leaf = &node.LeafAt(nibble);
  } else {
    s.kind = Sub::kInternal;
    s.version = c.version;
    s.node = c.node;
  }
  return s;
}

struct Pending {
  uint64_t version = 0;
  Hash256 root{};
  std::shared_ptr<const Node> root_node;
  // Nodes at this depth or deeper are not linked from their parents and go to the cache.
  unsigned link_depth = 0;
  std::vector<std::pair<NodeKey, std::shared_ptr<const Node>>> nodes;  // written
  // Nodes of the previous version whose paths hold no node in this one (collapsed subtrees);
  // every other replaced node is overwritten in the cache by its successor at the same path.
  std::vector<NodeKey> removed;
  std::optional<uint64_t> new_oldest;
  std::vector<NodeKey> pruned_nodes;
};

// Buffers of one part of an ApplyVersion, kept by the tree between versions so that their
// memory is reused rather than faulted in again for every block.
struct BuildBuffers {
  // Node records are put into the batch in key order: RocksDB's memtable inserts a sorted run
  // of keys several times faster than the same keys in post-order. Node keys sort by (depth,
  // path), and the recursion meets the nodes of one depth in path order, so one list per depth
  // is already sorted. Their values are appended to one buffer.
  struct NodeRecord {
    NibblePath path;
    uint32_t offset;
    uint32_t size;
  };
  // Value records (values over 32 bytes), met in key-hash order.
  struct ValueRecord {
    Hash256 key_hash;
    uint32_t offset;
    uint32_t size;
  };
  std::array<std::vector<NodeRecord>, 65> records_by_depth;
  std::string node_values;
  std::vector<ValueRecord> values;
  std::string value_bytes;
  std::string stale;  // (len:u8 db_key[len])*, the records this version makes stale
  std::vector<LeafNode> new_leaves;
  std::vector<const LeafNode*> scratch;  // the leaves of one subtree being rebuilt

  void Clear() {
    for (auto& r : records_by_depth) r.clear();
    node_values.clear();
    values.clear();
    value_bytes.clear();
    stale.clear();
    new_leaves.clear();
    scratch.clear();
  }
};

class StateTreeImpl final : public StateTree {
 public:
  StateTreeImpl(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const StateTreeOptions& options)
      : db_(db),
        cf_(cf),
        options_(options),
        cache_(options.node_cache_bytes / 4),
        link_depth_(options.node_cache_bytes > 0 ? kMaxLinkDepth : 0) {}

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
  // Walks version `version` towards `key_hash`; returns the leaf where the path ends (the
  // key's own or another's), or nullopt for an empty slot. Appends the sibling hashes met,
  // root first, to `siblings_top_down` when not null.
  Result<std::optional<LeafNode>> FindLeaf(uint64_t version, const Hash256& key_hash,
                                           std::vector<Hash256>* siblings_top_down) const;
  Result<Bytes> ReadValue(uint64_t version, const LeafNode& leaf) const;
  // Adds the deletions of every record made stale by versions in (from, to] to `batch`.
  Status CollectPrunable(uint64_t from, uint64_t to, rocksdb::WriteBatch* batch,
                         std::vector<NodeKey>* pruned_nodes);

  // The root node of `version` (from memory for the latest version).
  Result<std::shared_ptr<const Node>> RootNode(uint64_t version) const;
  // Moves link_depth_ so that decoded nodes stay within the memory budget.
  void AdjustLinkDepth();

  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
  const StateTreeOptions options_;
  // Bytes of every decoded node alive (the linked latest tree, the cache, pending versions).
  mutable std::atomic<int64_t> live_bytes_{0};
  // Nodes not reached by a parent's link (or below the link depth) are found through this
  // cache; it gets a quarter of the budget.
  mutable NodeCache cache_;

  mutable std::mutex meta_mu_;
  uint64_t latest_ = 0;  // guarded by meta_mu_
  Hash256 latest_root_{};
  // The latest tree, linked parent to child down to link_depth_, so that walking it needs no
  // lookup. Immutable once committed: readers walk it without locks.
  std::shared_ptr<const Node> latest_root_node_;
  uint64_t oldest_ = 0;

  // Only touched by the serialised ApplyVersion / MarkCommitted / Abandon / Prune.
  std::optional<Pending> pending_;
  std::vector<BuildBuffers> buffers_;  // one per part of ApplyVersion
  unsigned link_depth_ = 0;

  mutable std::atomic<uint64_t> node_reads_{0};
  mutable std::atomic<uint64_t> node_cache_hits_{0};
  std::atomic<uint64_t> nodes_written_{0};
  std::atomic<uint64_t> stale_recorded_{0};
  std::atomic<uint64_t> records_pruned_{0};
  std::atomic<uint64_t> apply_cpu_ns_{0};
};

uint64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Builds (a part of) one version: the recursion over the touched subtrees, and the records it
// writes, gathered in buffers until EmitVersion puts them into the batch. Several builders can
// work on disjoint subtrees of one version at once: they share only the tree's thread-safe
// reads (ReadNode) and the node memory counter.
class VersionBuilder {
 public:
  // `max_new_leaves` bounds the leaves this part writes (one per update at most).
  VersionBuilder(StateTreeImpl& tree, uint64_t version, unsigned link_depth, BuildBuffers* buffers,
                 size_t max_new_leaves)
      : tree_(tree), version_(version), link_depth_(link_depth), buf_(*buffers) {
    buf_.Clear();
    buf_.new_leaves.reserve(max_new_leaves);
  }

  // The new contents of the subtree at `path` that held `cur`, given the writes that fall in
  // it (sorted by key hash).
  Result<Sub> Apply(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  // Writes an internal node at `path` over the 16 `subs` (or collapses them).
  Sub Assemble(const NibblePath& path, const Sub (&subs)[16]);
  // Writes the new root at (version, "") and returns the root hash; `*root_node` is the new
  // root in memory.
  Result<Hash256> PlaceRoot(const Sub& root, uint64_t base, std::shared_ptr<const Node>* root_node);
  void MarkStale(const DbKey& db_key);

  const BuildBuffers& buffers() const { return buf_; }
  std::vector<std::pair<NodeKey, std::shared_ptr<const Node>>>& nodes() { return nodes_; }
  std::vector<NodeKey>& removed() { return removed_; }
  uint64_t stale_recorded() const { return stale_recorded_; }

 private:
  Result<Sub> ApplyToLeaf(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  Result<Sub> ApplyToInternal(const Sub& cur, const NibblePath& path, std::span<const Update> ups);
  Sub Build(const NibblePath& path, std::span<const LeafNode* const> items);
  const LeafNode* NewLeaf(const Update& u);
  void PutNode(const NodeKey& key, std::shared_ptr<const Node> node);
  void MarkStaleNode(const NodeKey& key);

  StateTreeImpl& tree_;
  const uint64_t version_;
  const unsigned link_depth_;  // nodes at this depth or deeper are not linked from parents
  BuildBuffers& buf_;
  // Subs point at leaves inside the nodes they came from (held here, or by the old tree), or
  // at leaves written by this version (in buf_.new_leaves, reserved so that they never move).
  std::vector<std::shared_ptr<const Node>> read_nodes_;
  std::vector<std::pair<NodeKey, std::shared_ptr<const Node>>> nodes_;  // written
  // Nodes of the previous version whose paths hold no node in this one (collapsed subtrees).
  std::vector<NodeKey> removed_;
  uint64_t stale_recorded_ = 0;
};

void VersionBuilder::PutNode(const NodeKey& key, std::shared_ptr<const Node> node) {
  size_t at = buf_.node_values.size();
  EncodeNode(*node, &buf_.node_values);
  std::vector<BuildBuffers::NodeRecord>& records = buf_.records_by_depth[key.path.len];
  assert(records.empty() || records.back().path.bytes < key.path.bytes);
  records.push_back(BuildBuffers::NodeRecord{key.path, static_cast<uint32_t>(at),
                                             static_cast<uint32_t>(buf_.node_values.size() - at)});
  nodes_.emplace_back(key, std::move(node));
}

void VersionBuilder::MarkStale(const DbKey& db_key) {
  buf_.stale.push_back(static_cast<char>(db_key.size()));
  buf_.stale.append(db_key.view());
  ++stale_recorded_;
}

void VersionBuilder::MarkStaleNode(const NodeKey& key) {
  // Roots are retired once, by ApplyVersion: every version writes a new root at path "".
  if (key.path.len == 0) return;
  MarkStale(NodeDbKey(key));
}

const LeafNode* VersionBuilder::NewLeaf(const Update& u) {
  assert(buf_.new_leaves.size() < buf_.new_leaves.capacity());
  LeafNode& leaf = buf_.new_leaves.emplace_back();
  leaf.key_hash = u.key_hash;
  leaf.value_hash = u.value_hash;
  if (u.value->size() <= kMaxInlineValue) {
    leaf.inline_size = static_cast<uint8_t>(u.value->size());
    std::copy(u.value->begin(), u.value->end(), leaf.inline_value.begin());
  } else {
    leaf.value_version = version_;
    buf_.values.push_back(BuildBuffers::ValueRecord{u.key_hash,
                                                    static_cast<uint32_t>(buf_.value_bytes.size()),
                                                    static_cast<uint32_t>(u.value->size())});
    buf_.value_bytes.append(reinterpret_cast<const char*>(u.value->data()), u.value->size());
  }
  return &leaf;
}

Result<Sub> VersionBuilder::Apply(const Sub& cur, const NibblePath& path,
                                  std::span<const Update> ups) {
  if (ups.empty()) return cur;
  switch (cur.kind) {
    case Sub::kEmpty: {
      // Build never re-enters Apply, so one scratch vector serves every call.
      std::vector<const LeafNode*>& items = buf_.scratch;
      items.clear();
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
  const LeafNode* old = cur.leaf;
  std::vector<const LeafNode*>& items = buf_.scratch;
  items.clear();
  bool keep_old = true;
  for (const Update& u : ups) {
    if (u.key_hash == old->key_hash) {
      if (u.value != nullptr && u.value_hash == old->value_hash) continue;  // same value
      keep_old = false;
      if (!old->is_inline()) MarkStale(ValueDbKey(old->key_hash, old->value_version));
      if (u.value != nullptr) items.push_back(NewLeaf(u));
    } else if (u.value != nullptr) {
      items.push_back(NewLeaf(u));
    }
  }
  if (keep_old) {
    if (items.empty()) return cur;
    auto pos =
        std::lower_bound(items.begin(), items.end(), old->key_hash,
                         [](const LeafNode* a, const Hash256& k) { return a->key_hash < k; });
    items.insert(pos, old);
  }
  return Build(path, items);
}

Result<Sub> VersionBuilder::ApplyToInternal(const Sub& cur, const NibblePath& path,
                                            std::span<const Update> ups) {
  const NodeKey key{cur.version, path};
  std::shared_ptr<const Node> node = cur.node;
  if (node == nullptr) {
    PROBITY_ASSIGN_OR_RETURN(node, tree_.ReadNode(key));
    read_nodes_.push_back(node);  // its leaves may travel up in Subs
  }
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
  if (!changed) {
    Sub same = cur;
    same.node = std::move(node);
    return same;
  }
  MarkStaleNode(key);
  Sub out = Assemble(path, subs);
  if (out.kind != Sub::kInternal && path.len > 0) removed_.push_back(key);
  return out;
}

Sub VersionBuilder::Build(const NibblePath& path, std::span<const LeafNode* const> items) {
  Sub out;
  out.changed = true;
  if (items.empty()) return out;
  if (items.size() == 1) {
    out.kind = Sub::kLeaf;
    out.leaf = items[0];
    out.hash = LeafHash(items[0]->key_hash, items[0]->value_hash);
    return out;
  }
  Sub subs[16];
  const unsigned depth = path.len;
  size_t lo = 0;
  while (lo < items.size()) {
    unsigned nib = KeyNibble(items[lo]->key_hash, depth);
    size_t hi = lo + 1;
    while (hi < items.size() && KeyNibble(items[hi]->key_hash, depth) == nib) ++hi;
    subs[nib] = Build(path.Child(nib), items.subspan(lo, hi - lo));
    lo = hi;
  }
  return Assemble(path, subs);
}

Sub VersionBuilder::Assemble(const NibblePath& path, const Sub (&subs)[16]) {
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
    return out;
  }
  auto node = std::make_shared<Node>();
  node->kind = NodeKind::kInternal;
  InternalNode& n = node->internal;
  n.children.reserve(count);
  const bool link = path.len + 1u < link_depth_;
  for (unsigned i = 0; i < 16; ++i) {
    const Sub& s = subs[i];
    if (s.kind == Sub::kEmpty) continue;
    n.present |= static_cast<uint16_t>(1u << i);
    if (s.kind == Sub::kLeaf) {
      n.leaves |= static_cast<uint16_t>(1u << i);
      n.children.push_back(ChildRef{s.hash, 0, nullptr, *s.leaf});
    } else {
      n.children.push_back(ChildRef{s.hash, s.version, link ? s.node : nullptr, LeafNode{}});
    }
  }
  node->Track(&tree_.live_bytes_);
  out.kind = Sub::kInternal;
  out.hash = SlotRangeHash(n, 0, 16);
  out.version = version_;
  out.node = node;
  PutNode(NodeKey{version_, path}, std::move(node));
  return out;
}

Result<Hash256> VersionBuilder::PlaceRoot(const Sub& root, uint64_t base,
                                          std::shared_ptr<const Node>* root_node) {
  const NodeKey key{version_, NibblePath{}};
  switch (root.kind) {
    case Sub::kEmpty: {
      auto node = std::make_shared<Node>();
      node->Track(&tree_.live_bytes_);
      *root_node = node;
      PutNode(key, std::move(node));
      return EmptySubtreeHash();
    }
    case Sub::kLeaf: {
      auto node = std::make_shared<Node>(Node::LoneLeaf(*root.leaf));
      node->Track(&tree_.live_bytes_);
      *root_node = node;
      PutNode(key, std::move(node));
      return root.hash;
    }
    case Sub::kInternal:
      *root_node = root.node;
      if (root.version != version_) {
        // Nothing changed below the root: the new version still gets its own root record.
        std::shared_ptr<const Node> old = root.node;
        if (old == nullptr) {
          PROBITY_ASSIGN_OR_RETURN(old, tree_.ReadNode(NodeKey{base, NibblePath{}}));
        }
        *root_node = old;
        PutNode(key, std::move(old));
      }
      return root.hash;
  }
  return Status::Internal("state tree: unknown root kind");
}

// Puts the records gathered by the builders of one version into `batch`, in key order: for
// every depth, parts[i] holds only paths below those of parts[i + 1]. Then the stale index, in
// chunks of about 64 KiB.
void EmitVersion(rocksdb::ColumnFamilyHandle* cf, uint64_t version,
                 std::span<const BuildBuffers* const> parts, rocksdb::WriteBatch* batch) {
  for (size_t depth = 0; depth < 65; ++depth) {
    for (const BuildBuffers* b : parts) {
      for (const BuildBuffers::NodeRecord& r : b->records_by_depth[depth]) {
        batch->Put(cf, AsSlice(NodeDbKey(NodeKey{version, r.path})),
                   rocksdb::Slice(b->node_values.data() + r.offset, r.size));
      }
    }
  }
  for (const BuildBuffers* b : parts) {
    for (const BuildBuffers::ValueRecord& r : b->values) {
      batch->Put(cf, AsSlice(ValueDbKey(r.key_hash, version)),
                 rocksdb::Slice(b->value_bytes.data() + r.offset, r.size));
    }
  }
  uint32_t chunk = 0;
  std::string_view pending;  // a run of whole entries of one part, not yet put
  auto flush = [&] {
    if (pending.empty()) return;
    batch->Put(cf, AsSlice(StaleDbKey(version, chunk++)), AsSlice(pending));
    pending = {};
  };
  for (const BuildBuffers* b : parts) {
    std::string_view all = b->stale;
    size_t start = 0, pos = 0;
    while (pos < all.size()) {
      pos += 1 + static_cast<uint8_t>(all[pos]);
      if (pos - start >= kStaleChunkBytes || pos == all.size()) {
        pending = all.substr(start, pos - start);
        flush();
        start = pos;
      }
    }
  }
}

// The writes of a version, one per key hash (the last one wins), sorted by key hash.
void PrepareUpdates(const std::vector<StateWrite>& writes, std::vector<Update>* out) {
  std::vector<Update> all(writes.size());
  // Sorted by (first 8 bytes of the key hash, then the rest, then position): small elements
  // to move, and the tie-break on position makes the last write of a key the last of its run.
  std::vector<std::pair<uint64_t, uint32_t>> order(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    const StateWrite& w = writes[i];
    Update& u = all[i];
    u.key_hash = KeyHash(w.key);
    u.value = nullptr;
    if (w.value) {
      u.value = &*w.value;
      u.value_hash = ValueHash(*w.value);
    }
    order[i] = {GetU64BE(u.key_hash.data()), static_cast<uint32_t>(i)};
  }
  std::sort(order.begin(), order.end(), [&all](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    const Hash256& ka = all[a.second].key_hash;
    const Hash256& kb = all[b.second].key_hash;
    if (ka != kb) return ka < kb;
    return a.second < b.second;
  });
  out->clear();
  out->reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const Update& u = all[order[i].second];
    if (i + 1 < order.size() && all[order[i + 1].second].key_hash == u.key_hash) continue;
    out->push_back(u);
  }
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
      DecodeNode(ByteView(reinterpret_cast<const uint8_t*>(value.data()), value.size()), key.path));
  auto fresh = std::make_shared<Node>(std::move(node));
  fresh->Track(&live_bytes_);
  std::shared_ptr<const Node> shared = std::move(fresh);
  cache_.Insert(key, shared);
  return shared;
}

Result<std::optional<LeafNode>> StateTreeImpl::FindLeaf(
    uint64_t version, const Hash256& key_hash, std::vector<Hash256>* siblings_top_down) const {
  NodeKey at{version, NibblePath{}};
  // `held` owns the walk's current subtree; the linked children below it are owned by their
  // parents, so the walk follows them by plain pointer. Copying a shared_ptr per level would
  // be an atomic increment and decrement on the same few top nodes from every reading thread.
  PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const Node> held, RootNode(version));
  const Node* node = held.get();
  for (;;) {
    switch (node->kind) {
      case NodeKind::kNull:
        return std::optional<LeafNode>();
      case NodeKind::kLeaf:
        return std::optional<LeafNode>(node->lone_leaf());
      case NodeKind::kInternal:
        break;
    }
    SlotWalk walk = WalkSlots(node->internal, KeyNibble(key_hash, at.path.len), siblings_top_down);
    if (walk.kind == SlotWalk::kEmpty) return std::optional<LeafNode>();
    if (walk.kind == SlotWalk::kLeaf) {
      return std::optional<LeafNode>(node->internal.LeafAt(walk.slot));
    }
    const ChildRef& c = node->internal.At(walk.slot);
    at = NodeKey{c.version, at.path.Child(walk.slot)};
    if (c.node != nullptr) {
      node = c.node.get();
    } else {
      PROBITY_ASSIGN_OR_RETURN(held, ReadNode(at));
      node = held.get();
    }
    if (node->kind != NodeKind::kInternal) {
      return Status::Corruption("state tree: an internal child is not an internal node");
    }
  }
}

Result<Bytes> StateTreeImpl::ReadValue(uint64_t version, const LeafNode& leaf) const {
  if (leaf.is_inline()) return ToBytes(leaf.value());
  rocksdb::PinnableSlice v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_,
                               AsSlice(ValueDbKey(leaf.key_hash, leaf.value_version)), &v);
  if (s.IsNotFound()) {
    PROBITY_RETURN_IF_ERROR(CheckReadable(version));
    return Status::Corruption("state tree: the value of a leaf is missing");
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "state tree: reading a value"));
  Bytes bytes(v.data(), v.data() + v.size());
  if (ValueHash(bytes) != leaf.value_hash) {
    return Status::Corruption("state tree: a stored value does not match its leaf");
  }
  return bytes;
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
  const uint64_t cpu_start = ThreadCpuNanos();
  Pending pending;
  pending.version = version;
  pending.link_depth = link_depth_;

  std::vector<Update> ups;
  PrepareUpdates(writes, &ups);
  // Held until the version is built: Subs may point into it.
  PROBITY_ASSIGN_OR_RETURN(const std::shared_ptr<const Node> base_root_node, RootNode(base));
  Sub root;
  root.hash = base_root;
  root.version = base;
  if (base_root_node->kind == NodeKind::kInternal) {
    root.kind = Sub::kInternal;
    root.node = base_root_node;
  } else if (base_root_node->kind == NodeKind::kLeaf) {
    root.kind = Sub::kLeaf;
    root.leaf = &base_root_node->lone_leaf();
  }

  // Large versions under an internal root are split by the root's 16 subtrees into contiguous
  // ranges of about equal numbers of writes, one builder (and thread) per range.
  unsigned parts = 1;
  if (root.kind == Sub::kInternal && ups.size() >= kParallelMinWrites) {
    parts = std::clamp<unsigned>(options_.apply_threads, 1, 16);
  }
  if (buffers_.size() < parts) buffers_.resize(parts);
  // first[n]: the index of the first write under root nibble n (first[16] = ups.size()).
  std::array<size_t, 17> first{};
  for (unsigned n = 0, i = 0; n <= 16; ++n) {
    while (i < ups.size() && KeyNibble(ups[i].key_hash, 0) < n) ++i;
    first[n] = i;
  }
  // Part p builds root slots [cut[p], cut[p + 1]).
  std::vector<unsigned> cut(parts + 1, 16);
  cut[0] = 0;
  for (unsigned p = 1; p < parts; ++p) {
    size_t target = ups.size() * p / parts;
    unsigned n = cut[p - 1] + 1;
    while (n < 16 && first[n] < target) ++n;
    cut[p] = std::min(n, 16u);
  }
  std::vector<std::unique_ptr<VersionBuilder>> builders;
  for (unsigned p = 0; p < parts; ++p) {
    size_t writes_in_part = parts == 1 ? ups.size() : first[cut[p + 1]] - first[cut[p]];
    builders.push_back(std::make_unique<VersionBuilder>(*this, version, pending.link_depth,
                                                        &buffers_[p], writes_in_part));
  }

  Sub new_root;
  if (parts == 1) {
    PROBITY_ASSIGN_OR_RETURN(new_root, builders[0]->Apply(root, NibblePath{}, ups));
  } else {
    Sub subs[16];
    for (unsigned n = 0; n < 16; ++n) subs[n] = SubFromChild(base_root_node->internal, n);
    std::vector<Status> results(parts);
    auto run_part = [&](unsigned p) {
      // The calling thread's time is counted for the whole of ApplyVersion.
      const uint64_t cpu_start = p > 0 ? ThreadCpuNanos() : 0;
      struct AddCpu {
        std::atomic<uint64_t>& total;
        uint64_t start;
        ~AddCpu() {
          if (start > 0) total.fetch_add(ThreadCpuNanos() - start, std::memory_order_relaxed);
        }
      } add_cpu{apply_cpu_ns_, cpu_start};
      for (unsigned n = cut[p]; n < cut[p + 1]; ++n) {
        if (first[n] == first[n + 1]) continue;
        auto sub = builders[p]->Apply(
            subs[n], NibblePath{}.Child(n),
            std::span<const Update>(ups).subspan(first[n], first[n + 1] - first[n]));
        if (!sub.ok()) {
          results[p] = sub.status();
          return;
        }
        subs[n] = std::move(sub).value();
      }
    };
    std::vector<std::thread> threads;
    for (unsigned p = 1; p < parts; ++p) {
      try {
        threads.emplace_back(run_part, p);
      } catch (const std::system_error&) {
        run_part(p);  // no thread to be had: this part runs here
      }
    }
    run_part(0);
    for (std::thread& t : threads) t.join();
    for (const Status& st : results) PROBITY_RETURN_IF_ERROR(st);
    bool changed = false;
    for (const Sub& sub : subs) changed |= sub.changed;
    if (changed) {
      new_root = builders[0]->Assemble(NibblePath{}, subs);
    } else {
      new_root = root;
    }
  }
  VersionBuilder& main = *builders[0];
  PROBITY_ASSIGN_OR_RETURN(Hash256 root_hash, main.PlaceRoot(new_root, base, &pending.root_node));
  if (base > 0) {
    main.MarkStale(NodeDbKey(NodeKey{base, NibblePath{}}));
    main.MarkStale(RootDbKey(base));
  }

  std::vector<const BuildBuffers*> part_buffers;
  uint64_t stale = 0;
  for (auto& b : builders) {
    part_buffers.push_back(&b->buffers());
    stale += b->stale_recorded();
    for (auto& n : b->nodes()) pending.nodes.push_back(std::move(n));
    for (const NodeKey& k : b->removed()) pending.removed.push_back(k);
  }
  EmitVersion(cf_, version, part_buffers, batch);
  batch->Put(cf_, AsSlice(RootDbKey(version)),
             rocksdb::Slice(reinterpret_cast<const char*>(root_hash.data()), root_hash.size()));
  char latest[40];
  PutU64LE(reinterpret_cast<uint8_t*>(latest), version);
  std::memcpy(latest + 8, root_hash.data(), 32);
  batch->Put(cf_, rocksdb::Slice(kLatestKey.data(), kLatestKey.size()),
             rocksdb::Slice(latest, sizeof latest));
  nodes_written_.fetch_add(pending.nodes.size(), std::memory_order_relaxed);
  stale_recorded_.fetch_add(stale, std::memory_order_relaxed);

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
  apply_cpu_ns_.fetch_add(ThreadCpuNanos() - cpu_start, std::memory_order_relaxed);
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
  std::shared_ptr<const Node> old_root = pending_->root_node;
  {
    std::lock_guard lock(meta_mu_);
    latest_ = version;
    latest_root_ = pending_->root;
    latest_root_node_.swap(old_root);
    if (pending_->new_oldest) oldest_ = *pending_->new_oldest;
  }
  cache_.Tick();
  for (const NodeKey& k : pending_->pruned_nodes) cache_.Erase(k);
  for (const NodeKey& k : pending_->removed) cache_.Erase(k);
  // Linked nodes are reached from the new root; the others must be found by key.
  for (auto& [key, node] : pending_->nodes) {
    if (key.path.len >= pending_->link_depth) cache_.Insert(key, std::move(node));
  }
  pending_.reset();
  old_root.reset();  // frees the nodes this version replaced, outside the lock
  AdjustLinkDepth();
}

void StateTreeImpl::AdjustLinkDepth() {
  const int64_t budget = static_cast<int64_t>(options_.node_cache_bytes);
  if (budget == 0) return;
  const int64_t live = live_bytes_.load(std::memory_order_relaxed);
  // Unlinking happens as nodes are rewritten, so the depth moves one level per version.
  if (live > budget && link_depth_ > 1) {
    --link_depth_;
  } else if (live < budget / 2 && link_depth_ < kMaxLinkDepth) {
    ++link_depth_;
  }
}

Result<std::shared_ptr<const Node>> StateTreeImpl::RootNode(uint64_t version) const {
  {
    std::lock_guard lock(meta_mu_);
    if (version == latest_ && latest_root_node_ != nullptr) return latest_root_node_;
  }
  return ReadNode(NodeKey{version, NibblePath{}});
}

void StateTreeImpl::Abandon(uint64_t version) {
  if (pending_ && pending_->version == version) pending_.reset();
}

Result<std::optional<Bytes>> StateTreeImpl::Get(uint64_t version, ByteView key) const {
  PROBITY_RETURN_IF_ERROR(CheckReadable(version));
  const Hash256 kh = KeyHash(key);
  PROBITY_ASSIGN_OR_RETURN(std::optional<LeafNode> leaf, FindLeaf(version, kh, nullptr));
  if (!leaf || leaf->key_hash != kh) return std::optional<Bytes>();
  PROBITY_ASSIGN_OR_RETURN(Bytes value, ReadValue(version, *leaf));
  return std::optional<Bytes>(std::move(value));
}

Result<std::pair<std::optional<Bytes>, StateProof>> StateTreeImpl::GetWithProof(
    uint64_t version, ByteView key) const {
  PROBITY_RETURN_IF_ERROR(CheckReadable(version));
  const Hash256 kh = KeyHash(key);
  std::vector<Hash256> top_down;
  PROBITY_ASSIGN_OR_RETURN(std::optional<LeafNode> leaf, FindLeaf(version, kh, &top_down));
  ProofBody body;
  std::optional<Bytes> value;
  if (leaf) {
    body.has_leaf = true;
    body.leaf_key_hash = leaf->key_hash;
    body.leaf_value_hash = leaf->value_hash;
    if (leaf->key_hash == kh) {
      PROBITY_ASSIGN_OR_RETURN(Bytes v, ReadValue(version, *leaf));
      value = std::move(v);
    }
  }
  body.siblings.assign(top_down.rbegin(), top_down.rend());
  StateProof proof{EncodeProofBody(body)};
  return std::make_pair(std::move(value), std::move(proof));
}

Status StateTreeImpl::CollectPrunable(uint64_t from, uint64_t to, rocksdb::WriteBatch* batch,
                                      std::vector<NodeKey>* pruned_nodes) {
  DbKey lower = StaleDbKey(from + 1, 0);
  DbKey upper = StaleDbKey(to + 1, 0);
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
  s.apply_cpu_ns = apply_cpu_ns_.load(std::memory_order_relaxed);
  s.node_memory_bytes = static_cast<uint64_t>(std::max<int64_t>(live_bytes_.load(), 0));
  s.cache_bytes = cache_.bytes();
  s.cache_entries = cache_.entries();
  s.link_depth = link_depth_;
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
