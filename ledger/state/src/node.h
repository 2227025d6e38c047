// The physical nodes of the state tree and their byte formats in RocksDB.
//
// The logical tree (state_hash.h) is binary; it is stored as a Jellyfish-style radix-16 tree:
// an internal node stands for four binary levels and holds up to 16 children, addressed by
// one nibble of the key hash. A node is stored under (version, nibble path), where version is
// the version that wrote it and the path is the nibble prefix that leads to it from the root,
// so a new version writes only the nodes on the paths it changes and shares every other node
// with earlier versions; a parent records each child's version to find it with one point read.
//
// Node value grammar (integers little-endian):
//   node     := 0x00                                    null: the root of an empty tree
//             | 0x01 present:u16 leaves:u16 child*      internal node
//             | 0x02 key_hash[32] value_hash[32] value_version:u64   leaf
//   child    := version:u64 hash[32]                   one per set bit of `present`, in
//                                                       nibble order
// Bit n of `present` says a child sits at nibble n; bit n of `leaves` says that child is a
// leaf. An internal node always holds at least two children or one internal child: a subtree
// with a single leaf collapses into that leaf, so leaves sit at the shallowest nibble depth
// that separates them. `value_version` is the version that wrote the leaf's value (the leaf
// node itself is rewritten, with the same value_version, when it moves up or down); it locates
// the value in the value table and is not part of any hash.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <string>
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
  friend bool operator==(const NibblePath&, const NibblePath&) = default;
};

struct NodeKey {
  uint64_t version = 0;
  NibblePath path;
  friend bool operator==(const NodeKey&, const NodeKey&) = default;
};

struct NodeKeyHash {
  size_t operator()(const NodeKey& k) const {
    uint64_t h = k.version * 0x9e3779b97f4a7c15ULL ^ k.path.len;
    for (int i = 0; i < 32; i += 8) {
      uint64_t w = 0;
      for (int j = 0; j < 8; ++j) w = (w << 8) | k.path.bytes[i + j];
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 33;
    }
    return static_cast<size_t>(h);
  }
};

struct ChildRef {
  Hash256 hash;
  uint64_t version;
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
};

struct LeafNode {
  Hash256 key_hash;
  Hash256 value_hash;
  uint64_t value_version;
};

enum class NodeKind : uint8_t { kNull = 0, kInternal = 1, kLeaf = 2 };

struct Node {
  NodeKind kind = NodeKind::kNull;
  InternalNode internal;  // when kind == kInternal
  LeafNode leaf{};        // when kind == kLeaf

  // Approximate bytes held in memory, for the cache's budget.
  size_t MemoryCharge() const;
};

std::string EncodeNode(const Node& node);
// kCorruption for anything EncodeNode cannot produce (wrong size, unknown kind, a leaf bit
// without its child, an internal node that should have collapsed).
Result<Node> DecodeNode(ByteView bytes);

// The logical (binary) hash of a node: for an internal node, the root of the four binary
// levels over its 16 slots, with empty slots and single-leaf subtrees collapsed as in
// state_hash.h; for a leaf, its leaf hash; for null, the empty hash.
Hash256 NodeHash(const Node& node);

// The hash of the binary subtree over slots [lo, lo + width) of an internal node.
Hash256 SlotRangeHash(const InternalNode& node, unsigned lo, unsigned width);

// Where the binary path towards `nibble` ends inside an internal node.
struct SlotWalk {
  enum Kind { kEmpty, kLeaf, kInternalChild } kind;
  unsigned slot;  // kLeaf: the slot of the leaf met (may differ from `nibble`); kInternalChild:
                  // == nibble
  unsigned bits;  // binary levels descended inside this node (0..4)
};
// Appends the sibling hashes met on the way, top level first, to `siblings_top_down`.
SlotWalk WalkSlots(const InternalNode& node, unsigned nibble,
                   std::vector<Hash256>* siblings_top_down);

}  // namespace probity::ledger::state_internal
