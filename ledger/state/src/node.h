// The physical nodes of the state tree and their byte formats in RocksDB.
//
// The logical tree (state_hash.h) is binary; it is stored as a Jellyfish-style radix-16 tree:
// an internal node stands for four binary levels and holds up to 16 children, addressed by
// one nibble of the key hash. A node is stored under (version, nibble path), where version is
// the version that wrote it and the path is the nibble prefix that leads to it from the root,
// so a new version writes only the nodes on the paths it changes and shares every other node
// with earlier versions; a parent records each internal child's version to find it with one
// point read.
//
// Leaves are stored inside their parent, not as records of their own: a leaf changes exactly
// when its parent's record has to be rewritten anyway (the parent holds the child's hash), so
// a separate leaf record would only add a write, a stale-index entry and a read per update.
// Only a tree of exactly one key stores a lone leaf, as its root.
//
// Node value grammar (integers little-endian):
//   node     := 0x00                                    null: the root of an empty tree
//             | 0x01 present:u16 leaves:u16 child*      internal node
//             | 0x02 leaf                               lone leaf: the root of a 1-key tree
//   child    := leaf                                    when bit n of `leaves` is set
//             | version:u64 hash[32]                   an internal child: its version and hash
//   leaf     := 0x00 key_hash[32] value_hash[32] value_version:u64   value in its own record
//             | 0x01 key_hash[32] size:u8 value[size]                value inline, size <= 32
// One child per set bit n of `present` (a child at nibble n), in nibble order; `leaves` is a
// subset of `present`. An internal node holds at least two children or one internal child: a
// subtree with a single leaf collapses into that leaf, so leaves sit at the shallowest nibble
// depth that separates them. Values of at most 32 bytes (balances, nonces) are kept in their
// leaf, which saves a record, a stale-index entry and a read per write; value_hash is then
// recomputed on decode. Larger values go to a value record that `value_version` names. Neither
// value_version nor the inline bytes are part of any hash: the leaf hash commits to value_hash.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::ledger::state_internal {

// The first `len` nibbles of a key hash (len <= 64); the unused nibbles are zero, so that two
// equal paths compare equal byte for byte.
struct NibblePath {
  std::array<uint8_t, 32> bytes{};
  uint8_t len = 0;

  static NibblePath Prefix(const Hash256& key_hash, unsigned nibbles);
  unsigned Nibble(unsigned i) const {
    return (i & 1) ? (bytes[i >> 1] & 0x0f) : (bytes[i >> 1] >> 4);
  }
  NibblePath Child(unsigned nibble) const;
  // Whether `key_hash` starts with this path.
  bool IsPrefixOf(const Hash256& key_hash) const;
  friend bool operator==(const NibblePath&, const NibblePath&) = default;
};

struct NodeKey {
  uint64_t version = 0;
  NibblePath path;
  friend bool operator==(const NodeKey&, const NodeKey&) = default;
};

struct NibblePathHash {
  size_t operator()(const NibblePath& p) const {
    uint64_t h = (p.len + 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
    for (int i = 0; i < 32; i += 8) {
      uint64_t w = 0;
      for (int j = 0; j < 8; ++j) w = (w << 8) | p.bytes[i + j];
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    return static_cast<size_t>(h);
  }
};

// Values up to this size live inside their leaf; larger ones in a value record of their own.
inline constexpr size_t kMaxInlineValue = 32;
inline constexpr uint8_t kNotInline = 0xff;

struct LeafNode {
  Hash256 key_hash;
  Hash256 value_hash;
  uint64_t value_version = 0;        // value in its own record: the version that wrote it
  uint8_t inline_size = kNotInline;  // value inline: its size
  std::array<uint8_t, kMaxInlineValue> inline_value;

  bool is_inline() const { return inline_size != kNotInline; }
  ByteView value() const { return ByteView(inline_value.data(), inline_size); }  // if inline
};

struct Node;

// A child slot of an internal node (leaf and internal children share one array, so that a
// node costs two allocations, not three).
struct ChildRef {
  Hash256 hash;          // leaf: its leaf hash (computed on decode, not stored); internal: stored
  uint64_t version = 0;  // internal: the child node's version
  // Internal: the child when it is held in memory (the latest tree is kept linked this way,
  // so that walking it needs no lookup); null when it must be read by key.
  std::shared_ptr<const Node> node;
  LeafNode leaf;  // leaf: the leaf
};

struct InternalNode {
  uint16_t present = 0;
  uint16_t leaves = 0;
  std::vector<ChildRef> children;  // one per set bit of `present`, in nibble order

  bool Has(unsigned nibble) const { return (present >> nibble) & 1; }
  bool IsLeaf(unsigned nibble) const { return (leaves >> nibble) & 1; }
  // REQUIRES: Has(nibble).
  const ChildRef& At(unsigned nibble) const {
    return children[std::popcount(static_cast<unsigned>(present & ((1u << nibble) - 1)))];
  }
  // REQUIRES: IsLeaf(nibble).
  const LeafNode& LeafAt(unsigned nibble) const { return At(nibble).leaf; }
};

enum class NodeKind : uint8_t { kNull = 0, kInternal = 1, kLeaf = 2 };

struct Node {
  NodeKind kind = NodeKind::kNull;
  // kInternal: the node. kLeaf (a lone leaf, the root of a 1-key tree): children[0].leaf.
  InternalNode internal;

  Node() = default;
  // Moves the contents; the tracking (if any) moves with them.
  Node(Node&& o) noexcept
      : kind(o.kind),
        internal(std::move(o.internal)),
        live_bytes_(std::exchange(o.live_bytes_, nullptr)),
        charge_(o.charge_) {}
  Node& operator=(Node&&) = delete;
  Node(const Node&) = delete;
  ~Node() {
    if (live_bytes_ != nullptr) live_bytes_->fetch_sub(charge_, std::memory_order_relaxed);
  }

  static Node LoneLeaf(const LeafNode& leaf) {
    Node n;
    n.kind = NodeKind::kLeaf;
    n.internal.children.resize(1);
    n.internal.children[0].leaf = leaf;
    return n;
  }
  // REQUIRES: kind == kLeaf.
  const LeafNode& lone_leaf() const { return internal.children[0].leaf; }

  // Approximate bytes held in memory by this node alone.
  size_t MemoryCharge() const;
  // Counts this node in `*live_bytes` until it is destroyed. Called once, when the node is
  // complete and has its final address.
  void Track(std::atomic<int64_t>* live_bytes) {
    charge_ = static_cast<int64_t>(MemoryCharge());
    live_bytes_ = live_bytes;
    live_bytes->fetch_add(charge_, std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t>* live_bytes_ = nullptr;
  int64_t charge_ = 0;
};

// Appends the encoding of `node` to `out`.
void EncodeNode(const Node& node, std::string* out);
// Decodes the node stored at `path`. kCorruption for anything EncodeNode cannot produce or
// that cannot sit at `path` (wrong size, unknown kind, a leaf bit without its child, a node
// that should have collapsed, a leaf whose key hash is not under its slot, a lone leaf or a
// null node below the root).
Result<Node> DecodeNode(ByteView bytes, const NibblePath& path);

// The logical (binary) hash of a node: for an internal node, the root of the four binary
// levels over its 16 slots, with empty slots and single-leaf subtrees collapsed as in
// state_hash.h; for a lone leaf, its leaf hash; for null, the empty hash.
Hash256 NodeHash(const Node& node);

// The hash of the binary subtree over slots [lo, lo + width) of an internal node.
Hash256 SlotRangeHash(const InternalNode& node, unsigned lo, unsigned width);

// Where the binary path towards `nibble` ends inside an internal node.
struct SlotWalk {
  enum Kind { kEmpty, kLeaf, kInternalChild } kind;
  unsigned slot;  // kLeaf: the slot of the leaf met (may differ from `nibble`);
                  // kInternalChild: == nibble
};
// Appends the sibling hashes met on the way, top level first, to `siblings_top_down` (when
// not null).
SlotWalk WalkSlots(const InternalNode& node, unsigned nibble,
                   std::vector<Hash256>* siblings_top_down);

}  // namespace probity::ledger::state_internal
