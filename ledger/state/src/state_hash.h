// The hashes that define the state tree's root (the app hash), shared by the tree and the
// standalone proof verifier.
//
// The logical tree is a binary sparse Merkle tree over the 256 bits of SHA-256(key), most
// significant bit of byte 0 first, in which
//   - an empty subtree hashes to EmptySubtreeHash() = tagged_hash("probity/state/empty", ""),
//   - a subtree holding exactly one entry collapses to that entry's leaf hash
//       LeafHash(kh, vh) = tagged_hash("probity/state/leaf", kh || vh),
//     where kh = SHA-256(key) and vh = SHA-256(value),
//   - any other subtree hashes to
//       InternalHash(l, r) = tagged_hash("probity/state/internal", l || r).
// The root is therefore a function of the set of (key, value) pairs alone, whatever the order
// of writes or the physical node layout. Tags follow BIP-340 (see primitives/sha256.h).
#pragma once

#include <string_view>

#include "probity/primitives/bytes.h"

namespace probity::ledger::state_internal {

inline constexpr std::string_view kEmptyTag = "probity/state/empty";
inline constexpr std::string_view kLeafTag = "probity/state/leaf";
inline constexpr std::string_view kInternalTag = "probity/state/internal";

const Hash256& EmptySubtreeHash();
Hash256 LeafHash(const Hash256& key_hash, const Hash256& value_hash);
Hash256 InternalHash(const Hash256& left, const Hash256& right);
Hash256 KeyHash(ByteView key);
Hash256 ValueHash(ByteView value);

// Bit `i` (0 = most significant bit of byte 0) of a key hash: 0 = left, 1 = right.
inline int KeyBit(const Hash256& h, unsigned i) { return (h[i >> 3] >> (7 - (i & 7))) & 1; }
// Nibble `i` (0 = high nibble of byte 0) of a key hash: the child index at nibble depth i.
inline unsigned KeyNibble(const Hash256& h, unsigned i) {
  return (i & 1) ? (h[i >> 1] & 0x0f) : (h[i >> 1] >> 4);
}
// Number of leading bits two hashes share (256 when equal).
unsigned CommonPrefixBits(const Hash256& a, const Hash256& b);

}  // namespace probity::ledger::state_internal
