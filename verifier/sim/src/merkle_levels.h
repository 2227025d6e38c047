// Every level of an RFC 6962 Merkle tree (primitives/merkle.h), kept so that an audit path
// costs O(log n) hashes instead of the O(n) that MerkleInclusionProof spends rebuilding the
// subtrees: a simulated provider answers thousands of openings of 1,000-segment traces.
//
// The RFC 6962 tree is the tree in which, level by level, nodes are paired left to right and a
// last node without a partner is carried up unchanged; so level l+1 holds
// MerkleNodeHash(level_l[2m], level_l[2m+1]), or level_l[2m] when 2m+1 is past the end, and an
// audit path is the partner at each level where there is one.
#pragma once

#include <span>
#include <vector>

#include "probity/primitives/bytes.h"

namespace probity::verifier::sim {

class MerkleLevels {
 public:
  MerkleLevels() = default;
  // REQUIRES: leaf_hashes is not empty.
  explicit MerkleLevels(std::vector<Hash256> leaf_hashes);

  const Hash256& root() const { return levels_.back().front(); }
  uint64_t size() const { return levels_.empty() ? 0 : levels_.front().size(); }
  // The audit path of leaf `index`, from the leaf upward. REQUIRES: index < size().
  std::vector<Hash256> Path(uint64_t index) const;

 private:
  std::vector<std::vector<Hash256>> levels_;
};

}  // namespace probity::verifier::sim
