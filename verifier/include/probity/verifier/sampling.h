// Which segments of a job get checked: the seed and the k sampled indices (DESIGN.md §2).
//
// The buyer commits to H(secret) in its order and reveals the secret after the provider has
// committed its trace, so neither the provider nor the block producer can predict the sample:
//
//   commitment = tagged_hash("probity/secret", secret)                 secret: 32 bytes
//   seed       = tagged_hash("probity/sample", job_id || secret || block_hash)
//   seed       = tagged_hash("probity/sample", job_id || block_hash)   if the buyer never
//                                                                      revealed in time
// where job_id is 32 bytes and block_hash is the hash of the first block after the block that
// holds the Commit transaction. (The two forms differ in length, so they can never collide.)
//
// Indices: for c = 0, 1, 2, …  draw r_c = first 8 bytes, little-endian, of
//   tagged_hash("probity/sample-index", seed || u64le(c)),
// reject r_c >= floor(2^64 / n) * n (so that every index is equally likely), take
// r_c mod n, and skip an index already drawn, until k distinct indices are drawn. If k >= n,
// every index 0..n-1 is sampled. The result is in draw order. Anyone can recompute it; the
// chain exposes it through a query, and docs/protocol.md repeats this algorithm.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::verifier {

using Secret = Hash256;  // 32 bytes of buyer randomness

Hash256 SecretCommitment(const Secret& secret);

// True iff `secret` opens `commitment` (constant time in the secret).
bool CheckSecretReveal(const Hash256& commitment, const Secret& secret);

// The sampling seed; `secret` is nullopt when the buyer did not reveal in time.
Hash256 SampleSeed(const Hash256& job_id, const std::optional<Secret>& secret,
                   const Hash256& block_hash);

// The sampled segment indices. kInvalidArgument when segment_count is 0 or k is 0.
Result<std::vector<uint64_t>> SampleIndices(const Hash256& seed, uint64_t segment_count,
                                            uint32_t k);

// Probability that a sample of k distinct segments out of n hits at least one of c corrupted
// segments: 1 - C(n-c, k) / C(n, k) (sampling without replacement). Approaches
// 1 - (1 - c/n)^k for large n.
double DetectionProbability(uint64_t n, uint64_t corrupted, uint32_t k);

}  // namespace probity::verifier
