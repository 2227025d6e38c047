#include "merkle_levels.h"

#include "probity/primitives/merkle.h"

namespace probity::verifier::sim {

MerkleLevels::MerkleLevels(std::vector<Hash256> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  while (levels_.back().size() > 1) {
    const std::vector<Hash256>& below = levels_.back();
    std::vector<Hash256> up;
    up.reserve((below.size() + 1) / 2);
    for (size_t m = 0; m < below.size(); m += 2) {
      up.push_back(m + 1 < below.size() ? MerkleNodeHash(below[m], below[m + 1]) : below[m]);
    }
    levels_.push_back(std::move(up));
  }
}

std::vector<Hash256> MerkleLevels::Path(uint64_t index) const {
  std::vector<Hash256> path;
  for (size_t l = 0; l + 1 < levels_.size(); ++l, index >>= 1) {
    const uint64_t partner = index ^ 1;
    if (partner < levels_[l].size()) path.push_back(levels_[l][partner]);
  }
  return path;
}

}  // namespace probity::verifier::sim
