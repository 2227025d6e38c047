#include "cpu/sha256_x16.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_epi32() and draw a false
// -Wmaybe-uninitialized at every inlined use (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace probity::workloads::cpu {
namespace {

#if defined(__x86_64__)

#define PROBITY_AVX512 __attribute__((target("avx512f,avx512bw")))
#define PROBITY_AVX512_INLINE __attribute__((target("avx512f,avx512bw"), always_inline)) inline

constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
constexpr uint32_t kInitial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// One message as a sequence of 64-byte blocks: header || data || 0x80 || zeros || the bit
// length (big-endian u64), the padding of FIPS 180-4 section 5.1.1.
struct Message {
  ByteView header;
  const uint8_t* data = nullptr;
  uint64_t total = 0;   // header + data bytes
  uint64_t blocks = 0;  // after padding: the least count with room for 0x80 and the length

  Message() = default;
  explicit Message(const internal::HashItem& item)
      : header(item.header),
        data(static_cast<const uint8_t*>(item.data)),
        total(item.header.size() + item.bytes),
        blocks((total + 8) / 64 + 1) {}

  // Block b. A block wholly inside the data is read in place; one that holds header or padding
  // bytes is assembled in `scratch` (64 bytes).
  const uint8_t* Block(uint64_t b, uint8_t* scratch) const {
    const uint64_t start = 64 * b, h = header.size();
    if (start >= h && start + 64 <= total) return data + (start - h);
    std::memset(scratch, 0, 64);
    if (start < h) std::memcpy(scratch, header.data() + start, std::min<uint64_t>(64, h - start));
    const uint64_t lo = std::max(start, h), hi = std::min(start + 64, total);
    if (lo < hi) std::memcpy(scratch + (lo - start), data + (lo - h), hi - lo);
    if (total >= start && total < start + 64) scratch[total - start] = 0x80;
    if (b + 1 == blocks) PutU64BE(scratch + 56, total * 8);
    return scratch;
  }
};

PROBITY_AVX512_INLINE __m512i Add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }
// The rotation is a template argument: the instruction takes an immediate, and Clang wants it
// constant at the intrinsic itself, not only after inlining.
template <int N>
PROBITY_AVX512_INLINE __m512i Ror(__m512i a) {
  return _mm512_ror_epi32(a, N);
}
PROBITY_AVX512_INLINE __m512i Xor3(__m512i a, __m512i b, __m512i c) {
  return _mm512_ternarylogic_epi32(a, b, c, 0x96);
}

// Loads block[l] (64 bytes, message byte order) for each lane l and transposes them, so that
// w[i] holds big-endian word i of every lane's block.
PROBITY_AVX512_INLINE void LoadWords(__m512i w[16], const uint8_t* const block[16]) {
  const __m512i bswap =
      _mm512_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9,
                      10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0,
                      1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  __m512i r[16], t[16];
  for (int l = 0; l < 16; ++l) r[l] = _mm512_shuffle_epi8(_mm512_loadu_si512(block[l]), bswap);
  // A 16×16 transpose of 32-bit words in four rounds: words within 128-bit lanes by unpacking
  // pairs of rows (twice), then 128-bit lanes across rows (twice).
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i + 0], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i + 0], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
    }
  }
  for (int j = 0; j < 8; ++j) {
    w[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
    w[j + 8] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
  }
}

// The SHA-256 compression function on 16 lanes; lanes outside `live` keep their state.
PROBITY_AVX512_INLINE void Compress(__m512i state[8], const uint8_t* const block[16],
                                    __mmask16 live) {
  __m512i w[16];
  LoadWords(w, block);
  __m512i a = state[0], b = state[1], c = state[2], d = state[3];
  __m512i e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; ++i) {
    __m512i wi;
    if (i < 16) {
      wi = w[i];
    } else {
      const __m512i w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
      const __m512i s0 = Xor3(Ror<7>(w15), Ror<18>(w15), _mm512_srli_epi32(w15, 3));
      const __m512i s1 = Xor3(Ror<17>(w2), Ror<19>(w2), _mm512_srli_epi32(w2, 10));
      wi = Add(Add(w[i & 15], s0), Add(w[(i + 9) & 15], s1));
      w[i & 15] = wi;
    }
    const __m512i s1 = Xor3(Ror<6>(e), Ror<11>(e), Ror<25>(e));
    const __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xCA);   // e ? f : g
    const __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xE8);  // majority
    const __m512i t1 = Add(Add(h, s1), Add(ch, Add(_mm512_set1_epi32(kRound[i]), wi)));
    const __m512i t2 = Add(Xor3(Ror<2>(a), Ror<13>(a), Ror<22>(a)), maj);
    h = g, g = f, f = e, e = Add(d, t1), d = c, c = b, b = a, a = Add(t1, t2);
  }
  const __m512i next[8] = {a, b, c, d, e, f, g, h};
  for (int i = 0; i < 8; ++i) state[i] = _mm512_mask_add_epi32(state[i], live, state[i], next[i]);
}

PROBITY_AVX512 void HashLanes(std::span<Hash256> out, std::span<const internal::HashItem> items) {
  const size_t n = items.size();
  Message msg[kSha256Lanes];
  uint64_t blocks = 0;
  for (size_t l = 0; l < n; ++l) {
    msg[l] = Message(items[l]);
    blocks = std::max(blocks, msg[l].blocks);
  }
  alignas(64) static constexpr uint8_t kIdle[64] = {};  // what a finished or absent lane reads
  alignas(64) uint8_t scratch[kSha256Lanes][64];
  __m512i state[8];
  for (int i = 0; i < 8; ++i) state[i] = _mm512_set1_epi32(static_cast<int>(kInitial[i]));
  const uint8_t* block[kSha256Lanes];
  for (uint64_t b = 0; b < blocks; ++b) {
    __mmask16 live = 0;
    for (size_t l = 0; l < kSha256Lanes; ++l) {
      if (l < n && b < msg[l].blocks) {
        block[l] = msg[l].Block(b, scratch[l]);
        live = static_cast<__mmask16>(live | (1u << l));
      } else {
        block[l] = kIdle;
      }
    }
    Compress(state, block, live);
  }
  alignas(64) uint32_t words[8][kSha256Lanes];
  for (int i = 0; i < 8; ++i) _mm512_store_si512(words[i], state[i]);
  for (size_t l = 0; l < n; ++l) {
    for (int i = 0; i < 8; ++i) {
      const uint32_t v = words[i][l];
      out[l][4 * i + 0] = static_cast<uint8_t>(v >> 24);
      out[l][4 * i + 1] = static_cast<uint8_t>(v >> 16);
      out[l][4 * i + 2] = static_cast<uint8_t>(v >> 8);
      out[l][4 * i + 3] = static_cast<uint8_t>(v);
    }
  }
}

#endif  // __x86_64__

}  // namespace

bool CpuHasAvx512Bw() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

void Sha256x16(std::span<Hash256> out, std::span<const internal::HashItem> items) {
#if defined(__x86_64__)
  HashLanes(out, items);
#else
  // Not reached (CpuHasAvx512Bw is false here); the same digests one message at a time.
  for (size_t i = 0; i < items.size(); ++i) {
    Sha256Hasher h;
    h.Update(items[i].header);
    h.Update(ByteView(static_cast<const uint8_t*>(items[i].data), items[i].bytes));
    out[i] = h.Final();
  }
#endif
}

}  // namespace probity::workloads::cpu
