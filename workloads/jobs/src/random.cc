#include "probity/workloads/random.h"

#include <cmath>

#include "probity/workloads/model.h"

namespace probity::workloads {

std::array<uint32_t, 4> Philox4x32(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += kW0;
      k[1] += kW1;
    }
    const uint64_t p0 = uint64_t{kM0} * c[0];
    const uint64_t p1 = uint64_t{kM1} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  }
  return c;
}

PhiloxStream::PhiloxStream(uint64_t seed, uint32_t domain, uint32_t a)
    : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
      domain_(domain),
      a_(a) {}

uint32_t PhiloxStream::Next() {
  if (used_ == 4) {
    words_ = Philox4x32({block_++, a_, 0, domain_}, key_);
    used_ = 0;
  }
  return words_[used_++];
}

uint32_t PhiloxStream::Uniform(uint32_t m) {
  uint64_t p = uint64_t{Next()} * m;
  uint32_t l = static_cast<uint32_t>(p);
  if (l < m) {
    const uint32_t t = static_cast<uint32_t>(-m) % m;
    while (l < t) {
      p = uint64_t{Next()} * m;
      l = static_cast<uint32_t>(p);
    }
  }
  return static_cast<uint32_t>(p >> 32);
}

bool MirrorExample(uint64_t seed, uint32_t epoch, uint32_t example) {
  const std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed),
                                       static_cast<uint32_t>(seed >> 32)};
  return (Philox4x32({example, epoch, 0, kDomainMirror}, key)[0] & 1) != 0;
}

std::vector<uint32_t> EpochPermutation(uint64_t seed, uint32_t epoch, uint32_t n) {
  std::vector<uint32_t> p(n);
  for (uint32_t i = 0; i < n; ++i) p[i] = i;
  PhiloxStream s(seed, kDomainShuffle, epoch);
  for (uint32_t i = n; i-- > 1;) std::swap(p[i], p[s.Uniform(i + 1)]);
  return p;
}

TensorMap InitialParameters(const ClassifierArch& arch, uint64_t seed) {
  TensorMap out;
  const auto shapes = arch.ParameterShapes();
  for (size_t index = 0; index < shapes.size(); ++index) {
    const auto& [name, shape] = shapes[index];
    // The weight of this layer is [out, in] or [out, c_in, 5, 5]: fan_in is the product of all
    // but its first dim; the bias shares its layer's bound.
    const std::string weight = name.substr(0, name.find('.')) + ".weight";
    int64_t fan_in = 1;
    for (const auto& [n, s] : shapes) {
      if (n == weight) {
        for (size_t d = 1; d < s.size(); ++d) fan_in *= s[d];
      }
    }
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    Tensor t = Tensor::Zeros(DType::kF32, shape).value();
    PhiloxStream s(seed, kDomainInit, static_cast<uint32_t>(index));
    for (float& v : t.mutable_data<float>()) {
      const float u = static_cast<float>(s.Next() >> 8) * 0x1p-24f;
      v = (u * 2.0f - 1.0f) * bound;
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace probity::workloads
