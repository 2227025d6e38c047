#include "probity/verifier/sampling.h"

#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::verifier;

namespace {
Hash256 H(const char* s) { return Sha256(std::string_view(s)); }
}  // namespace

TEST_CASE("sampling: commitment and reveal") {
  Secret s = H("buyer secret");
  Hash256 c = SecretCommitment(s);
  CHECK(CheckSecretReveal(c, s));
  Secret other = H("other");
  CHECK_FALSE(CheckSecretReveal(c, other));
  CHECK(c != Sha256(s));  // tagged, not a bare hash
}

TEST_CASE("sampling: seed binds job, secret and block; no-reveal form differs") {
  Hash256 job = H("job"), blk = H("block");
  Secret s = H("secret");
  Hash256 a = SampleSeed(job, s, blk);
  CHECK(a == SampleSeed(job, s, blk));
  CHECK(a != SampleSeed(H("job2"), s, blk));
  CHECK(a != SampleSeed(job, H("secret2"), blk));
  CHECK(a != SampleSeed(job, s, H("block2")));
  CHECK(a != SampleSeed(job, std::nullopt, blk));
  // The documented formula, recomputed by hand.
  Bytes m(job.begin(), job.end());
  m.insert(m.end(), s.begin(), s.end());
  m.insert(m.end(), blk.begin(), blk.end());
  CHECK(a == TaggedHash("probity/sample", m));
}

TEST_CASE("sampling: indices are distinct, in range, deterministic, and pinned") {
  Hash256 seed = H("seed");
  for (uint64_t n : {1ull, 2ull, 7ull, 33ull, 1000ull, 1ull << 40}) {
    for (uint32_t k : {1u, 3u, 16u, 50u}) {
      auto idx = SampleIndices(seed, n, k).value();
      CHECK(idx.size() == std::min<uint64_t>(n, k));
      std::set<uint64_t> u(idx.begin(), idx.end());
      CHECK(u.size() == idx.size());
      for (uint64_t i : idx) CHECK(i < n);
      CHECK(SampleIndices(seed, n, k).value() == idx);
    }
  }
  // A fixed vector, so that any change to the algorithm is noticed (docs/protocol.md).
  CHECK(SampleIndices(H("probity"), 1000, 4).value() == std::vector<uint64_t>{284, 855, 902, 655});
  CHECK(SampleIndices(seed, 10, 10).value() == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK_FALSE(SampleIndices(seed, 0, 3).ok());
  CHECK_FALSE(SampleIndices(seed, 5, 0).ok());
}

TEST_CASE("sampling: indices are uniform (chi-square over many seeds)") {
  const uint64_t n = 10;
  std::vector<int> count(n, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    Hash256 seed = Sha256(std::string_view(std::to_string(i)));
    count[SampleIndices(seed, n, 1).value()[0]]++;
  }
  double chi = 0, expect = draws / static_cast<double>(n);
  for (int c : count) chi += (c - expect) * (c - expect) / expect;
  // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
  CHECK(chi < 27.9);
}

TEST_CASE("sampling: detection probability formula") {
  CHECK(DetectionProbability(100, 0, 10) == 0.0);
  CHECK(DetectionProbability(100, 100, 1) == 1.0);
  CHECK(DetectionProbability(10, 1, 10) == 1.0);
  CHECK(DetectionProbability(10, 1, 1) == doctest::Approx(0.1));
  CHECK(DetectionProbability(10, 2, 2) == doctest::Approx(1.0 - (8.0 / 10) * (7.0 / 9)));
  // Large n: close to 1 - (1 - f)^k.
  CHECK(DetectionProbability(1000000, 10000, 16) ==
        doctest::Approx(1 - std::pow(0.99, 16)).epsilon(1e-4));
  // Measured against the sampler itself.
  const uint64_t n = 50, c = 5;
  const uint32_t k = 4;
  int hit = 0, trials = 4000;
  for (int t = 0; t < trials; ++t) {
    auto idx = SampleIndices(Sha256(std::string_view("t" + std::to_string(t))), n, k).value();
    bool h = false;
    for (auto i : idx) h = h || i < c;
    hit += h;
  }
  double p = DetectionProbability(n, c, k), rate = hit / static_cast<double>(trials);
  double sd = std::sqrt(p * (1 - p) / trials);
  CHECK(std::abs(rate - p) < 4 * sd);
}
