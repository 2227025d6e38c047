#include "probity/primitives/merkle.h"

#include "probity/primitives/sha256.h"

namespace probity {
namespace {

// Largest power of two strictly smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

Hash256 RootOf(std::span<const Hash256> leaves) {
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = SplitPoint(leaves.size());
  return MerkleNodeHash(RootOf(leaves.first(k)), RootOf(leaves.subspan(k)));
}

void PathOf(std::span<const Hash256> leaves, uint64_t index, std::vector<Hash256>* out) {
  if (leaves.size() <= 1) return;
  uint64_t k = SplitPoint(leaves.size());
  if (index < k) {
    PathOf(leaves.first(k), index, out);
    out->push_back(RootOf(leaves.subspan(k)));
  } else {
    PathOf(leaves.subspan(k), index - k, out);
    out->push_back(RootOf(leaves.first(k)));
  }
}

}  // namespace

Hash256 MerkleLeafHash(ByteView leaf_data) {
  Sha256Hasher h;
  const uint8_t prefix = 0x00;
  h.Update(ByteView(&prefix, 1)).Update(leaf_data);
  return h.Final();
}

Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right) {
  uint8_t buf[65];
  buf[0] = 0x01;
  std::copy(left.begin(), left.end(), buf + 1);
  std::copy(right.begin(), right.end(), buf + 33);
  return Sha256(ByteView(buf, sizeof(buf)));
}

Hash256 MerkleRootFromLeafHashes(std::span<const Hash256> leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256(ByteView());
  // Bottom-up over levels: pairs are combined left to right and an odd last node is carried
  // up unchanged. This yields exactly the RFC 6962 split-at-largest-power-of-two shape and
  // needs no recursion (trees of millions of tx ids or segments).
  std::vector<Hash256> level(leaf_hashes.begin(), leaf_hashes.end());
  while (level.size() > 1) {
    size_t n = level.size();
    size_t out = 0;
    for (size_t i = 0; i + 1 < n; i += 2) level[out++] = MerkleNodeHash(level[i], level[i + 1]);
    if (n % 2 == 1) level[out++] = level[n - 1];
    level.resize(out);
  }
  return level[0];
}

Hash256 MerkleRoot(std::span<const Bytes> leaves) {
  std::vector<Hash256> hashes;
  hashes.reserve(leaves.size());
  for (const Bytes& l : leaves) hashes.push_back(MerkleLeafHash(l));
  return MerkleRootFromLeafHashes(hashes);
}

Result<std::vector<Hash256>> MerkleInclusionProof(std::span<const Hash256> leaf_hashes,
                                                  uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return Status::OutOfRange("leaf index " + std::to_string(index) + " not below tree size " +
                              std::to_string(leaf_hashes.size()));
  }
  std::vector<Hash256> path;
  PathOf(leaf_hashes, index, &path);
  return path;
}

bool VerifyMerkleInclusion(const Hash256& leaf_hash, uint64_t index, uint64_t tree_size,
                           std::span<const Hash256> proof, const Hash256& root) {
  // RFC 9162 section 2.1.3.2 (the verification algorithm for RFC 6962 audit paths).
  if (index >= tree_size) return false;
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

}  // namespace probity
