#include "node.h"

#include <cstring>

#include "probity/primitives/encoding.h"
#include "state_hash.h"

namespace probity::ledger::state_internal {
namespace {

constexpr size_t kInternalChildBytes = 40;

void PutLeaf(std::string* out, const LeafNode& leaf) {
  const char* kh = reinterpret_cast<const char*>(leaf.key_hash.data());
  if (leaf.is_inline()) {
    out->push_back(1);
    out->append(kh, 32);
    out->push_back(static_cast<char>(leaf.inline_size));
    out->append(reinterpret_cast<const char*>(leaf.inline_value.data()), leaf.inline_size);
  } else {
    out->push_back(0);
    out->append(kh, 32);
    out->append(reinterpret_cast<const char*>(leaf.value_hash.data()), 32);
    char v[8];
    PutU64LE(reinterpret_cast<uint8_t*>(v), leaf.value_version);
    out->append(v, 8);
  }
}

// Reads one leaf at `*pos`, advancing it; kCorruption if it is malformed or runs past the end.
Status GetLeaf(ByteView b, size_t* pos, LeafNode* leaf) {
  size_t p = *pos;
  if (b.size() - p < 33) return Status::Corruption("state node: leaf truncated");
  uint8_t kind = b[p];
  std::memcpy(leaf->key_hash.data(), b.data() + p + 1, 32);
  p += 33;
  if (kind == 0) {
    if (b.size() - p < 40) return Status::Corruption("state node: leaf truncated");
    std::memcpy(leaf->value_hash.data(), b.data() + p, 32);
    leaf->value_version = GetU64LE(b.data() + p + 32);
    leaf->inline_size = kNotInline;
    p += 40;
  } else if (kind == 1) {
    if (b.size() - p < 1) return Status::Corruption("state node: leaf truncated");
    size_t size = b[p++];
    if (size > kMaxInlineValue || b.size() - p < size) {
      return Status::Corruption("state node: bad inline value");
    }
    leaf->inline_size = static_cast<uint8_t>(size);
    std::memcpy(leaf->inline_value.data(), b.data() + p, size);
    leaf->value_hash = ValueHash(ByteView(b.data() + p, size));
    leaf->value_version = 0;
    p += size;
  } else {
    return Status::Corruption("state node: unknown leaf kind");
  }
  *pos = p;
  return Status::OK();
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
  return sizeof(Node) + 32 + internal.children.capacity() * sizeof(ChildRef);
}

void EncodeNode(const Node& node, std::string* out) {
  switch (node.kind) {
    case NodeKind::kNull:
      out->push_back(0);
      break;
    case NodeKind::kInternal: {
      const InternalNode& n = node.internal;
      char head[5] = {1, static_cast<char>(n.present), static_cast<char>(n.present >> 8),
                      static_cast<char>(n.leaves), static_cast<char>(n.leaves >> 8)};
      out->append(head, 5);
      size_t i = 0;
      for (unsigned nib = 0; nib < 16; ++nib) {
        if (!n.Has(nib)) continue;
        const ChildRef& c = n.children[i++];
        if (n.IsLeaf(nib)) {
          PutLeaf(out, n.LeafAt(nib));
        } else {
          char v[kInternalChildBytes];
          PutU64LE(reinterpret_cast<uint8_t*>(v), c.version);
          std::memcpy(v + 8, c.hash.data(), 32);
          out->append(v, kInternalChildBytes);
        }
      }
      break;
    }
    case NodeKind::kLeaf:
      out->push_back(2);
      PutLeaf(out, node.lone_leaf());
      break;
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
      if ((n.leaves & ~n.present) != 0) {
        return Status::Corruption("state node: leaf bit set for a missing child");
      }
      if (count == 0 || (count == 1 && n.leaves != 0)) {
        return Status::Corruption("state node: internal node that should have collapsed");
      }
      if (path.len >= 64) return Status::Corruption("state node: internal node too deep");
      n.children.resize(count);
      size_t pos = 5;
      size_t i = 0;
      for (unsigned nib = 0; nib < 16; ++nib) {
        if (!n.Has(nib)) continue;
        ChildRef& c = n.children[i++];
        if (n.IsLeaf(nib)) {
          LeafNode& leaf = c.leaf;
          PROBITY_RETURN_IF_ERROR(GetLeaf(b, &pos, &leaf));
          if (!path.Child(nib).IsPrefixOf(leaf.key_hash)) {
            return Status::Corruption("state node: a leaf is not under its slot");
          }
          c.version = 0;
          c.hash = LeafHash(leaf.key_hash, leaf.value_hash);
        } else {
          if (b.size() - pos < kInternalChildBytes) {
            return Status::Corruption("state node: internal node truncated");
          }
          c.version = GetU64LE(b.data() + pos);
          std::memcpy(c.hash.data(), b.data() + pos + 8, 32);
          pos += kInternalChildBytes;
        }
      }
      if (pos != b.size()) return Status::Corruption("state node: trailing bytes");
      node.kind = NodeKind::kInternal;
      return node;
    }
    case 2: {
      if (path.len != 0) return Status::Corruption("state node: lone leaf below the root");
      size_t pos = 1;
      LeafNode leaf;
      PROBITY_RETURN_IF_ERROR(GetLeaf(b, &pos, &leaf));
      if (pos != b.size()) return Status::Corruption("state node: trailing bytes");
      return Node::LoneLeaf(leaf);
    }
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
      return LeafHash(node.lone_leaf().key_hash, node.lone_leaf().value_hash);
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
