#include "sha256_portable.h"

#include <cstring>

#include "probity/primitives/sha256.h"

namespace probity::internal {
namespace {
constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void Compress(uint32_t h[8], const uint8_t block[64]) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 |
           uint32_t(block[4 * i + 2]) << 8 | uint32_t(block[4 * i + 3]);
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t S1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = hh + S1 + ch + kK[i] + w[i];
    uint32_t S0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = S0 + maj;
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}
}  // namespace

void Sha256Init(Sha256State* s) {
  static constexpr uint32_t kInit[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::memcpy(s->h, kInit, sizeof(kInit));
  s->total = 0;
  s->buf_len = 0;
}

void Sha256Update(Sha256State* s, const uint8_t* data, size_t len) {
  s->total += len;
  if (s->buf_len > 0) {
    size_t take = std::min(len, 64 - s->buf_len);
    std::memcpy(s->buf + s->buf_len, data, take);
    s->buf_len += take;
    data += take;
    len -= take;
    if (s->buf_len < 64) return;
    Compress(s->h, s->buf);
    s->buf_len = 0;
  }
  while (len >= 64) {
    Compress(s->h, data);
    data += 64;
    len -= 64;
  }
  std::memcpy(s->buf, data, len);
  s->buf_len = len;
}

void Sha256Final(Sha256State* s, uint8_t out[32]) {
  uint64_t bits = s->total * 8;
  uint8_t pad = 0x80;
  uint64_t total = s->total;
  Sha256Update(s, &pad, 1);
  uint8_t zero = 0;
  while (s->buf_len != 56) Sha256Update(s, &zero, 1);
  uint8_t len_be[8];
  for (int i = 0; i < 8; ++i) len_be[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  Sha256Update(s, len_be, 8);
  (void)total;
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(s->h[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(s->h[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(s->h[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(s->h[i]);
  }
  Sha256Init(s);
}

}  // namespace probity::internal

namespace probity {
Hash256 Sha256Portable(ByteView data) {
  internal::Sha256State s;
  internal::Sha256Init(&s);
  internal::Sha256Update(&s, data.data(), data.size());
  Hash256 out;
  internal::Sha256Final(&s, out.data());
  return out;
}
}  // namespace probity
