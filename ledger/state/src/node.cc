#include "node.h"

#include <cstring>

#include "probity/primitives/encoding.h"
#include "state_hash.h"

namespace probity::ledger::state_internal {

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

size_t Node::MemoryCharge() const {
  return sizeof(Node) + internal.children.capacity() * sizeof(ChildRef);
}

std::string EncodeNode(const Node& node) {
  std::string out;
  switch (node.kind) {
    case NodeKind::kNull:
      out.push_back(0);
      break;
    case NodeKind::kInternal: {
      const InternalNode& n = node.internal;
      out.resize(5 + n.children.size() * 40);
      uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
      p[0] = 1;
      p[1] = static_cast<uint8_t>(n.present);
      p[2] = static_cast<uint8_t>(n.present >> 8);
      p[3] = static_cast<uint8_t>(n.leaves);
      p[4] = static_cast<uint8_t>(n.leaves >> 8);
      p += 5;
      for (const ChildRef& c : n.children) {
        PutU64LE(p, c.version);
        std::memcpy(p + 8, c.hash.data(), 32);
        p += 40;
      }
      break;
    }
    case NodeKind::kLeaf: {
      out.resize(73);
      uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
      p[0] = 2;
      std::memcpy(p + 1, node.leaf.key_hash.data(), 32);
      std::memcpy(p + 33, node.leaf.value_hash.data(), 32);
      PutU64LE(p + 65, node.leaf.value_version);
      break;
    }
  }
  return out;
}

Result<Node> DecodeNode(ByteView b) {
  if (b.empty()) return Status::Corruption("state node: empty record");
  Node node;
  switch (b[0]) {
    case 0:
      if (b.size() != 1) return Status::Corruption("state node: null node with trailing bytes");
      node.kind = NodeKind::kNull;
      return node;
    case 1: {
      if (b.size() < 5) return Status::Corruption("state node: internal node truncated");
      InternalNode& n = node.internal;
      n.present = static_cast<uint16_t>(b[1] | (b[2] << 8));
      n.leaves = static_cast<uint16_t>(b[3] | (b[4] << 8));
      int count = std::popcount(static_cast<unsigned>(n.present));
      if ((n.leaves & ~n.present) != 0) {
        return Status::Corruption("state node: leaf bit set for a missing child");
      }
      if (count == 0 || (count == 1 && n.leaves != 0)) {
        return Status::Corruption("state node: internal node that should have collapsed");
      }
      if (b.size() != 5 + static_cast<size_t>(count) * 40) {
        return Status::Corruption("state node: internal node has the wrong size");
      }
      n.children.resize(count);
      const uint8_t* p = b.data() + 5;
      for (ChildRef& c : n.children) {
        c.version = GetU64LE(p);
        std::memcpy(c.hash.data(), p + 8, 32);
        p += 40;
      }
      node.kind = NodeKind::kInternal;
      return node;
    }
    case 2:
      if (b.size() != 73) return Status::Corruption("state node: leaf has the wrong size");
      node.kind = NodeKind::kLeaf;
      std::memcpy(node.leaf.key_hash.data(), b.data() + 1, 32);
      std::memcpy(node.leaf.value_hash.data(), b.data() + 33, 32);
      node.leaf.value_version = GetU64LE(b.data() + 65);
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
  for (unsigned bits = 0;; ++bits) {
    unsigned in_range = node.present & (((1u << width) - 1) << lo);
    if (in_range == 0) return {SlotWalk::kEmpty, nibble, bits};
    if (std::has_single_bit(in_range) && (node.leaves & in_range) != 0) {
      return {SlotWalk::kLeaf, static_cast<unsigned>(std::countr_zero(in_range)), bits};
    }
    if (width == 1) return {SlotWalk::kInternalChild, nibble, bits};
    width /= 2;
    if (nibble < lo + width) {
      siblings_top_down->push_back(SlotRangeHash(node, lo + width, width));
    } else {
      siblings_top_down->push_back(SlotRangeHash(node, lo, width));
      lo += width;
    }
  }
}

}  // namespace probity::ledger::state_internal
