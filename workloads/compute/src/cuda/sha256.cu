// SHA-256 (FIPS 180-4) on the GPU, so that a job running there can hash a tensor's canonical
// encoding without copying the tensor to the host. SHA-256 is sequential within a message,
// so one thread hashes one message: header (the canonical tensor header, built on the host)
// followed by the payload in device memory. Many tensors hash in parallel, one per thread.
//
// The header is 8 + 8*rank bytes, a multiple of 8, so every 64-byte block that lies wholly
// inside the payload starts at the payload's alignment plus a multiple of 8. A whole tensor
// starts on a 256-byte boundary (device allocations), and its blocks are read with eight 8-byte
// loads; a row chunk of a tensor (Backend::HashRowChunks) may start at any byte, and its blocks
// are read with 4-byte loads, shifted into place when the chunk is not 4-byte aligned. Only the
// first blocks (with the header) and the last (with the padding) are assembled byte by byte.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"

namespace probity::workloads::cuda {
namespace {

__constant__ uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

__device__ __forceinline__ uint32_t Rotr(uint32_t x, int n) { return __funnelshift_r(x, x, n); }

__device__ void Compress(uint32_t state[8], uint32_t w[16]) {
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
#pragma unroll
  for (int i = 0; i < 64; ++i) {
    uint32_t wi;
    if (i < 16) {
      wi = w[i];
    } else {
      const uint32_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
      const uint32_t s0 = Rotr(w15, 7) ^ Rotr(w15, 18) ^ (w15 >> 3);
      const uint32_t s1 = Rotr(w2, 17) ^ Rotr(w2, 19) ^ (w2 >> 10);
      wi = w[i & 15] + s0 + w[(i + 9) & 15] + s1;
      w[i & 15] = wi;
    }
    const uint32_t t1 =
        h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[i] + wi;
    const uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
  }
  state[0] += a, state[1] += b, state[2] += c, state[3] += d;
  state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

// Byte p of the padded message header || data || 0x80 || zeros || bit length (big-endian).
__device__ uint8_t MessageByte(const HashJob& job, uint64_t total, uint64_t padded, uint64_t p) {
  if (p < job.header_len) return job.header[p];
  if (p < total) return job.data[p - job.header_len];
  if (p == total) return 0x80;
  if (p >= padded - 8) return static_cast<uint8_t>((total * 8) >> (8 * (padded - 1 - p)));
  return 0;
}

__global__ void Sha256Kernel(uint8_t* digests, const HashJob* jobs, int count) {
  const int t = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (t >= count) return;
  const HashJob job = jobs[t];
  const uint64_t total = job.header_len + job.data_len;
  const uint64_t blocks = (total + 8) / 64 + 1;
  const uint64_t padded = blocks * 64;
  uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  // The payload's misalignment: 0 (8-byte loads), 4 (4-byte loads) or the byte offset within
  // a 4-byte word (4-byte loads of the enclosing words, funnel-shifted).
  const uint32_t misalign = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(job.data) & 7);
  uint32_t w[16];
  for (uint64_t blk = 0; blk < blocks; ++blk) {
    const uint64_t start = blk * 64;
    if (start >= job.header_len && start + 64 <= total) {
      const uint8_t* p = job.data + (start - job.header_len);
      if (misalign == 0) {
        const uint2* src = reinterpret_cast<const uint2*>(p);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const uint2 v = src[i];
          w[2 * i] = __byte_perm(v.x, 0, 0x0123);
          w[2 * i + 1] = __byte_perm(v.y, 0, 0x0123);
        }
      } else if ((misalign & 3) == 0) {
        const uint32_t* src = reinterpret_cast<const uint32_t*>(p);
#pragma unroll
        for (int i = 0; i < 16; ++i) w[i] = __byte_perm(src[i], 0, 0x0123);
      } else {
        // Bytes p .. p+63 lie in the 17 aligned words from p & ~3, all inside the tensor's
        // allocation (the block's first and last bytes are in it); little-endian word i of the
        // block is the 8·shift-bit right funnel shift of aligned words i and i+1.
        const uint32_t* src =
            reinterpret_cast<const uint32_t*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t{3});
        const uint32_t shift = 8 * (misalign & 3);
        uint32_t lo = src[0];
#pragma unroll
        for (int i = 0; i < 16; ++i) {
          const uint32_t hi = src[i + 1];
          w[i] = __byte_perm(__funnelshift_r(lo, hi, shift), 0, 0x0123);
          lo = hi;
        }
      }
    } else {
      for (int i = 0; i < 16; ++i) {
        uint32_t v = 0;
        for (int j = 0; j < 4; ++j)
          v = (v << 8) | MessageByte(job, total, padded, start + 4 * i + j);
        w[i] = v;
      }
    }
    Compress(state, w);
  }
  for (int i = 0; i < 8; ++i) {
    digests[32 * t + 4 * i + 0] = static_cast<uint8_t>(state[i] >> 24);
    digests[32 * t + 4 * i + 1] = static_cast<uint8_t>(state[i] >> 16);
    digests[32 * t + 4 * i + 2] = static_cast<uint8_t>(state[i] >> 8);
    digests[32 * t + 4 * i + 3] = static_cast<uint8_t>(state[i]);
  }
}

}  // namespace

Status LaunchSha256(cudaStream_t s, uint8_t* digests, const HashJob* jobs, int count) {
  constexpr int kThreads = 64;
  Sha256Kernel<<<(count + kThreads - 1) / kThreads, kThreads, 0, s>>>(digests, jobs, count);
  return LaunchStatus("Sha256Kernel");
}

}  // namespace probity::workloads::cuda
