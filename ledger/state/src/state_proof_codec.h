// The binary encoding of StateProof.encoded (one canonical encoding per proof).
//
//   proof     := terminal count:u16le empty_bitmap sibling*
//   terminal  := 0x00                                  the key's path ends in an empty subtree
//              | 0x01 key_hash[32] value_hash[32]      the key's path ends in a leaf: the key's
//                                                      own (inclusion) or another key's
//                                                      (exclusion)
//   empty_bitmap := ceil(count / 8) bytes; bit i (byte i / 8, bit i % 8, least significant
//                   first) set means sibling i is the empty-subtree hash and is not written
//   sibling   := hash[32], for each i in 0..count-1 whose bit is clear, in order
// Siblings run from the terminal's level up to the root: sibling i sits at binary depth
// count - i, beside the path of the key hash. A decoder rejects: count > 256, unused bitmap bits
// set, a written sibling equal to the empty-subtree hash, a deepest sibling (i = 0) that is
// empty (its parent would have collapsed), an unknown terminal tag, and any missing or extra
// byte.
#pragma once

#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::ledger::state_internal {

inline constexpr size_t kMaxProofSiblings = 256;

struct ProofBody {
  bool has_leaf = false;
  Hash256 leaf_key_hash{};
  Hash256 leaf_value_hash{};
  std::vector<Hash256> siblings;  // deepest first
};

Bytes EncodeProofBody(const ProofBody& body);
// kInvalidArgument naming the first defect.
Result<ProofBody> DecodeProofBody(ByteView bytes);

}  // namespace probity::ledger::state_internal
