#include "state_hash.h"

#include <array>
#include <bit>
#include <cstring>

#include "probity/primitives/sha256.h"

namespace probity::ledger::state_internal {
namespace {

// SHA-256(tag) || SHA-256(tag), the BIP-340 prefix of a tagged hash. A tagged hash of a 64-byte
// message is then one SHA-256 over 128 contiguous bytes, which avoids copying a hasher object
// per node (a measurable cost when a version recomputes ~10^5 nodes).
using TagPrefix = std::array<uint8_t, 64>;

TagPrefix MakePrefix(std::string_view tag) {
  Hash256 t = Sha256(tag);
  TagPrefix p;
  std::memcpy(p.data(), t.data(), 32);
  std::memcpy(p.data() + 32, t.data(), 32);
  return p;
}

Hash256 TaggedPair(const TagPrefix& prefix, const Hash256& a, const Hash256& b) {
  uint8_t buf[128];
  std::memcpy(buf, prefix.data(), 64);
  std::memcpy(buf + 64, a.data(), 32);
  std::memcpy(buf + 96, b.data(), 32);
  return Sha256(ByteView(buf, sizeof buf));
}

}  // namespace

const Hash256& EmptySubtreeHash() {
  static const Hash256 h = TaggedHash(kEmptyTag, {});
  return h;
}

Hash256 LeafHash(const Hash256& key_hash, const Hash256& value_hash) {
  static const TagPrefix prefix = MakePrefix(kLeafTag);
  return TaggedPair(prefix, key_hash, value_hash);
}

Hash256 InternalHash(const Hash256& left, const Hash256& right) {
  static const TagPrefix prefix = MakePrefix(kInternalTag);
  return TaggedPair(prefix, left, right);
}

Hash256 KeyHash(ByteView key) { return Sha256(key); }
Hash256 ValueHash(ByteView value) { return Sha256(value); }

unsigned CommonPrefixBits(const Hash256& a, const Hash256& b) {
  for (unsigned i = 0; i < 32; ++i) {
    uint8_t x = a[i] ^ b[i];
    if (x != 0) return i * 8 + static_cast<unsigned>(std::countl_zero(x));
  }
  return 256;
}

}  // namespace probity::ledger::state_internal
