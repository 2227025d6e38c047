#include "node.h"

#include <cstring>

#include "probity/primitives/encoding.h"
#include "state_hash.h"

namespace probity::ledger::state_internal {
namespace {

constexpr size_t kLeafBytes = 72;
constexpr size_t kInternalChildBytes = 40;

void PutLeaf(uint8_t* p, const LeafNode& leaf) {
  std::memcpy(p, leaf.key_hash.data(), 32);
  std::memcpy(p + 32, leaf.value_hash.data(), 32);
  PutU64LE(p + 64, leaf.value_version);
}

LeafNode GetLeaf(const uint8_t* p) {
  LeafNode leaf;
  std::memcpy(leaf.key_hash.data(), p, 32);
  std::memcpy(leaf.value_hash.data(), p + 32, 32);
  leaf.value_version = GetU64LE(p + 64);
  return leaf;
}

}  // namespace

NibblePath NibblePath::Prefix(const Hash256& key_hash, unsigned nibbles) {
  NibblePath p;
  p.len = static_cast<uint8_t>(nibbles);
  unsigned full = nibbles / 2;
  std::memcpy(p.bytes.data(), key_hash.data(), full);
  if (nibbles & 1) p.bytes[full] = key_hash[full] & 0xf0;
  return p;
}

NibblePath NibblePath::Child(unsigned nibble) const {
  NibblePath p = *this;
  if (len & 1) {
    p.bytes[len >> 1] |= static_cast<uint8_t>(nibble);
  } else {
    p.bytes[len >> 1] = static_cast<uint8_t>(nibble << 4);
  }
  ++p.len;
  return p;
}

bool NibblePath::IsPrefixOf(const Hash256& key_hash) const {
  unsigned full = len / 2;
  if (std::memcmp(bytes.data(), key_hash.data(), full) != 0) return false;
  return (len & 1) == 0 || (key_hash[full] & 0xf0) == bytes[full];
}

size_t Node::MemoryCharge() const {
  // Plus about 16 bytes of allocator overhead per block (the node with its shared_ptr
  // control block, and the two arrays).
  return sizeof(Node) + 48 + internal.children.capacity() * sizeof(ChildRef) +
         internal.leaf_keys.capacity() * sizeof(LeafKeys);
}

void EncodeNode(const Node& node, std::string* out_string) {
  std::string& out = *out_string;
  const size_t at = out.size();
  switch (node.kind) {
    case NodeKind::kNull:
      out.push_back(0);
      break;
    case NodeKind::kInternal: {
      const InternalNode& n = node.internal;
      size_t leaves = static_cast<size_t>(std::popcount(static_cast<unsigned>(n.leaves)));
      out.resize(at + 5 + leaves * kLeafBytes + (n.children.size() - leaves) * kInternalChildBytes);
      uint8_t* p = reinterpret_cast<uint8_t*>(out.data()) + at;
      p[0] = 1;
      p[1] = static_cast<uint8_t>(n.present);
      p[2] = static_cast<uint8_t>(n.present >> 8);
      p[3] = static_cast<uint8_t>(n.leaves);
      p[4] = static_cast<uint8_t>(n.leaves >> 8);
      p += 5;
      size_t i = 0;
      for (unsigned nib = 0; nib < 16; ++nib) {
        if (!n.Has(nib)) continue;
        const ChildRef& c = n.children[i++];
        if (n.IsLeaf(nib)) {
          PutLeaf(p, n.LeafAt(nib));
          p += kLeafBytes;
        } else {
          PutU64LE(p, c.version);
          std::memcpy(p + 8, c.hash.data(), 32);
          p += kInternalChildBytes;
        }
      }
      break;
    }
    case NodeKind::kLeaf: {
      out.resize(at + 1 + kLeafBytes);
      uint8_t* p = reinterpret_cast<uint8_t*>(out.data()) + at;
      p[0] = 2;
      PutLeaf(p + 1, node.leaf);
      break;
    }
  }
}

Result<Node> DecodeNode(ByteView b, const NibblePath& path) {
  if (b.empty()) return Status::Corruption("state node: empty record");
  Node node;
  switch (b[0]) {
    case 0:
      if (b.size() != 1) return Status::Corruption("state node: null node with trailing bytes");
      if (path.len != 0) return Status::Corruption("state node: null node below the root");
      node.kind = NodeKind::kNull;
      return node;
    case 1: {
      if (b.size() < 5) return Status::Corruption("state node: internal node truncated");
      InternalNode& n = node.internal;
      n.present = static_cast<uint16_t>(b[1] | (b[2] << 8));
      n.leaves = static_cast<uint16_t>(b[3] | (b[4] << 8));
      int count = std::popcount(static_cast<unsigned>(n.present));
      int leaves = std::popcount(static_cast<unsigned>(n.leaves));
      if ((n.leaves & ~n.present) != 0) {
        return Status::Corruption("state node: leaf bit set for a missing child");
      }
      if (count == 0 || (count == 1 && n.leaves != 0)) {
        return Status::Corruption("state node: internal node that should have collapsed");
      }
      if (path.len >= 64) return Status::Corruption("state node: internal node too deep");
      if (b.size() != 5 + static_cast<size_t>(leaves) * kLeafBytes +
                          static_cast<size_t>(count - leaves) * kInternalChildBytes) {
        return Status::Corruption("state node: internal node has the wrong size");
      }
      n.children.resize(count);
      n.leaf_keys.resize(leaves);
      const uint8_t* p = b.data() + 5;
      size_t i = 0;
      size_t j = 0;
      for (unsigned nib = 0; nib < 16; ++nib) {
        if (!n.Has(nib)) continue;
        ChildRef& c = n.children[i++];
        if (n.IsLeaf(nib)) {
          LeafNode leaf = GetLeaf(p);
          if (!path.Child(nib).IsPrefixOf(leaf.key_hash)) {
            return Status::Corruption("state node: a leaf is not under its slot");
          }
          n.leaf_keys[j++] = LeafKeys{leaf.key_hash, leaf.value_hash};
          c.version = leaf.value_version;
          c.hash = LeafHash(leaf.key_hash, leaf.value_hash);
          p += kLeafBytes;
        } else {
          c.version = GetU64LE(p);
          std::memcpy(c.hash.data(), p + 8, 32);
          p += kInternalChildBytes;
        }
      }
      node.kind = NodeKind::kInternal;
      return node;
    }
    case 2:
      if (b.size() != 1 + kLeafBytes) return Status::Corruption("state node: bad lone leaf");
      if (path.len != 0) return Status::Corruption("state node: lone leaf below the root");
      node.kind = NodeKind::kLeaf;
      node.leaf = GetLeaf(b.data() + 1);
      return node;
    default:
      return Status::Corruption("state node: unknown node kind " + std::to_string(b[0]));
  }
}

Hash256 SlotRangeHash(const InternalNode& node, unsigned lo, unsigned width) {
  unsigned mask = ((1u << width) - 1) << lo;
  unsigned in_range = node.present & mask;
  if (in_range == 0) return EmptySubtreeHash();
  if (std::has_single_bit(in_range) && (node.leaves & in_range) != 0) {
    return node.At(static_cast<unsigned>(std::countr_zero(in_range))).hash;
  }
  if (width == 1) return node.At(lo).hash;
  unsigned half = width / 2;
  return InternalHash(SlotRangeHash(node, lo, half), SlotRangeHash(node, lo + half, half));
}

Hash256 NodeHash(const Node& node) {
  switch (node.kind) {
    case NodeKind::kInternal:
      return SlotRangeHash(node.internal, 0, 16);
    case NodeKind::kLeaf:
      return LeafHash(node.leaf.key_hash, node.leaf.value_hash);
    case NodeKind::kNull:
      break;
  }
  return EmptySubtreeHash();
}

SlotWalk WalkSlots(const InternalNode& node, unsigned nibble,
                   std::vector<Hash256>* siblings_top_down) {
  unsigned lo = 0;
  unsigned width = 16;
  for (;;) {
    unsigned in_range = node.present & (((1u << width) - 1) << lo);
    if (in_range == 0) return {SlotWalk::kEmpty, nibble};
    if (std::has_single_bit(in_range) && (node.leaves & in_range) != 0) {
      return {SlotWalk::kLeaf, static_cast<unsigned>(std::countr_zero(in_range))};
    }
    if (width == 1) return {SlotWalk::kInternalChild, nibble};
    width /= 2;
    bool left = nibble < lo + width;
    if (siblings_top_down != nullptr) {
      siblings_top_down->push_back(SlotRangeHash(node, left ? lo + width : lo, width));
    }
    if (!left) lo += width;
  }
}

}  // namespace probity::ledger::state_internal
