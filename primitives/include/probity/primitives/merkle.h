// Merkle trees of the RFC 6962 (Certificate Transparency) shape.
//
//   MTH({})       = SHA-256()                      (the hash of nothing)
//   MTH({d0})     = SHA-256(0x00 || d0)            (leaf hash)
//   MTH(D[0:n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
//                   where k is the largest power of two smaller than n.
//
// The prefixes keep a leaf from ever being read as an inner node (second-preimage defence).
// Inclusion proofs are the audit paths of RFC 6962 section 2.1.1, from the leaf upward.
// Used for transaction roots over tx ids and for trace roots over segment records.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity {

Hash256 MerkleLeafHash(ByteView leaf_data);
Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right);

// Root over leaves given as raw data (each hashed with the 0x00 prefix).
Hash256 MerkleRoot(std::span<const Bytes> leaves);
// Root over leaves already hashed with MerkleLeafHash.
Hash256 MerkleRootFromLeafHashes(std::span<const Hash256> leaf_hashes);

// Audit path for leaf `index`. REQUIRES: index < leaf_hashes.size() (else kOutOfRange).
Result<std::vector<Hash256>> MerkleInclusionProof(std::span<const Hash256> leaf_hashes,
                                                  uint64_t index);

// True when `proof` shows that `leaf_hash` is leaf `index` of a tree of `tree_size` leaves
// whose root is `root`. Any other proof, including one of the wrong length, is false.
// REQUIRES: `tree_size` is authenticated together with `root` (a block header carries
// tx_count beside tx_root; a Commit carries the segment count beside the trace root): an audit
// path alone does not always pin the size (leaf 0's path in a 3-leaf tree is also a
// well-formed path in a 4-leaf tree).
bool VerifyMerkleInclusion(const Hash256& leaf_hash, uint64_t index, uint64_t tree_size,
                           std::span<const Hash256> proof, const Hash256& root);

}  // namespace probity
