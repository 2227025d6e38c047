#include "probity/verifier/sampling.h"

#include <unordered_set>

#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::verifier {

Hash256 SecretCommitment(const Secret& secret) { return TaggedHash("probity/secret", secret); }

bool CheckSecretReveal(const Hash256& commitment, const Secret& secret) {
  Hash256 c = SecretCommitment(secret);
  return ConstantTimeEqual(c, commitment);
}

Hash256 SampleSeed(const Hash256& job_id, const std::optional<Secret>& secret,
                   const Hash256& block_hash) {
  Sha256Hasher h = TaggedHasher("probity/sample");
  h.Update(job_id);
  if (secret) h.Update(*secret);
  h.Update(block_hash);
  return h.Final();
}

Result<std::vector<uint64_t>> SampleIndices(const Hash256& seed, uint64_t segment_count,
                                            uint32_t k) {
  if (segment_count == 0) return Status::InvalidArgument("a job has at least one segment");
  if (k == 0) return Status::InvalidArgument("at least one segment must be sampled");
  std::vector<uint64_t> out;
  if (k >= segment_count) {
    for (uint64_t i = 0; i < segment_count; ++i) out.push_back(i);
    return out;
  }
  // Largest multiple of n that fits in 2^64: draws at or above it are rejected.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % segment_count + 1) % segment_count;
  const Sha256Hasher base = [&] {
    Sha256Hasher h = TaggedHasher("probity/sample-index");
    h.Update(seed);
    return h;
  }();
  std::unordered_set<uint64_t> seen;
  uint8_t ctr[8];
  for (uint64_t c = 0; out.size() < k; ++c) {
    Sha256Hasher h = base;
    PutU64LE(ctr, c);
    Hash256 d = h.Update(ByteView(ctr, 8)).Final();
    uint64_t r = GetU64LE(d.data());
    if (limit != UINT64_MAX && r >= limit) continue;
    uint64_t idx = r % segment_count;
    if (seen.insert(idx).second) out.push_back(idx);
  }
  return out;
}

double DetectionProbability(uint64_t n, uint64_t corrupted, uint32_t k) {
  if (n == 0 || corrupted == 0) return 0.0;
  if (corrupted >= n || k >= n) return 1.0;
  // P(miss) = prod_{i=0}^{k-1} (n - c - i) / (n - i)
  double miss = 1.0;
  for (uint32_t i = 0; i < k; ++i) {
    if (n - corrupted <= i) return 1.0;
    miss *= static_cast<double>(n - corrupted - i) / static_cast<double>(n - i);
  }
  return 1.0 - miss;
}

}  // namespace probity::verifier
