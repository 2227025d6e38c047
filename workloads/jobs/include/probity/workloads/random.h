// The randomness of a training job, fixed by its seed: which examples form each batch, and the
// initial weights. Both must be recomputable by any verifier, on any machine, from the spec
// alone, so they come from a counter-based generator (random access, no hidden state) and
// integer or exactly-rounded float arithmetic.
//
// Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011; the Random123 reference), key = (seed mod 2^32, seed >> 32). Stream (domain, a)
// is the sequence of u32 words of the blocks Philox(ctr = (k, a, 0, domain)) for k = 0, 1, ...,
// each block giving its four words in order.
//
// Epoch permutation (domain 1, a = epoch): Fisher–Yates (Durstenfeld) over [0, n): for
// i = n-1 down to 1, j = Uniform(i + 1), swap(p[i], p[j]); Uniform(m) is Lemire's
// multiply-and-reject: x = next word, l = low32(x·m), redraw while l < (2^32 - m) mod m,
// result high32(x·m). Training step s of a job with E = steps_per_epoch and batch size B uses
// the examples p_e[b·B], ..., p_e[b·B + B - 1] with e = s / E, b = s mod E.
//
// Mirror augmentation (domain 3): example x is mirrored in epoch e when bit 0 of the first
// word of Philox(ctr = (x, e, 0, 3)) is 1.
//
// Initial weights (domain 2, a = index of the parameter tensor in bytewise name order): element
// k = ((w_k >> 8) · 2^-24 · 2 - 1) · bound, with bound = 1 / sqrt(fan_in) in f32 (fan_in = in
// for fc layers, c_in·5·5 for convolutions), for weights and biases alike: PyTorch's default
// initialisation of Linear and Conv2d, drawn from our generator.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "probity/workloads/safetensors.h"

namespace probity::workloads {

// One Philox4x32-10 block.
std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

// The stream (domain, a) of the generator keyed by `seed`.
class PhiloxStream {
 public:
  PhiloxStream(uint64_t seed, uint32_t domain, uint32_t a);
  uint32_t Next();
  // Uniform in [0, m). REQUIRES: 1 <= m.
  uint32_t Uniform(uint32_t m);

 private:
  std::array<uint32_t, 2> key_;
  uint32_t domain_, a_, block_ = 0;
  std::array<uint32_t, 4> words_{};
  int used_ = 4;
};

inline constexpr uint32_t kDomainShuffle = 1;
inline constexpr uint32_t kDomainInit = 2;
inline constexpr uint32_t kDomainMirror = 3;

// Whether example `example` is seen mirrored (columns reversed) in `epoch`.
bool MirrorExample(uint64_t seed, uint32_t epoch, uint32_t example);

// The permutation of [0, n) used in `epoch`.
std::vector<uint32_t> EpochPermutation(uint64_t seed, uint32_t epoch, uint32_t n);

struct ClassifierArch;
// The initial parameters of a classifier (model.h names and shapes).
TensorMap InitialParameters(const ClassifierArch& arch, uint64_t seed);

}  // namespace probity::workloads
