#include "probity/workloads/random.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "probity/workloads/model.h"

using namespace probity;
using namespace probity::workloads;

TEST_CASE("philox: Random123 known-answer vectors for philox4x32-10") {
  using A4 = std::array<uint32_t, 4>;
  CHECK(Philox4x32({0, 0, 0, 0}, {0, 0}) == A4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(Philox4x32({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        A4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(Philox4x32({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        A4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("shuffle: a permutation, fixed by seed and epoch, different across both") {
  auto p = EpochPermutation(7, 0, 1000);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 1000; ++i) CHECK(sorted[i] == i);
  CHECK(EpochPermutation(7, 0, 1000) == p);
  CHECK(EpochPermutation(7, 1, 1000) != p);
  CHECK(EpochPermutation(8, 0, 1000) != p);
  CHECK(EpochPermutation(7, 0, 1) == std::vector<uint32_t>{0});
  // Pinned: the first entries of seed 1, epoch 0, n = 60000 are part of the job semantics and
  // must never change (docs/workloads.md).
  auto q = EpochPermutation(1, 0, 60000);
  REQUIRE(q.size() == 60000);
  CHECK(std::vector<uint32_t>(q.begin(), q.begin() + 6) ==
        std::vector<uint32_t>{40215, 6753, 17984, 31, 1523, 24461});
  // Uniform draws: over many permutations, position 0 takes each value about equally often.
  std::vector<int> counts(10);
  for (uint32_t e = 0; e < 10000; ++e) counts[EpochPermutation(3, e, 10)[0]]++;
  for (int c : counts) CHECK(std::abs(c - 1000) < 150);
}

TEST_CASE("init: PyTorch-style uniform bounds, deterministic per seed") {
  ClassifierArch arch{Architecture::kCnn, {32}, {4, 8}};
  TensorMap a = InitialParameters(arch, 5);
  CHECK(ArchitectureOf(a).ok());
  CHECK(InitialParameters(arch, 5) == a);
  CHECK(InitialParameters(arch, 6) != a);
  auto max_abs = [](const Tensor& t) {
    float m = 0;
    for (float v : t.data<float>()) m = std::max(m, std::fabs(v));
    return m;
  };
  CHECK(max_abs(a.at("conv0.weight")) <= 1.0f / 5.0f);
  CHECK(max_abs(a.at("conv0.weight")) > 0.15f);
  CHECK(max_abs(a.at("conv1.bias")) <= 1.0f / std::sqrt(100.0f));
  CHECK(max_abs(a.at("fc0.weight")) <= 1.0f / std::sqrt(8.0f * 49));
  CHECK(max_abs(a.at("fc1.weight")) <= 1.0f / std::sqrt(32.0f));
  CHECK(a.at("fc0.weight").data<float>()[0] != a.at("fc0.weight").data<float>()[1]);
}

TEST_CASE("mirror: about half the examples, a fresh choice per epoch and seed") {
  int mirrored = 0, changed = 0;
  for (uint32_t x = 0; x < 4000; ++x) {
    const bool m = MirrorExample(9, 0, x);
    mirrored += m;
    changed += m != MirrorExample(9, 1, x);
    CHECK(m == MirrorExample(9, 0, x));
  }
  CHECK(std::abs(mirrored - 2000) < 200);
  CHECK(std::abs(changed - 2000) < 200);
  int differ = 0;
  for (uint32_t x = 0; x < 100; ++x) differ += MirrorExample(9, 0, x) != MirrorExample(10, 0, x);
  CHECK(differ > 25);
}
