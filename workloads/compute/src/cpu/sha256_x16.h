// SHA-256 of up to 16 messages at once with AVX-512: one message per 32-bit lane of a 512-bit
// register. SHA-256 is sequential within a message, so one core can only go faster by working
// on several messages side by side; on processors with AVX-512 this does about twice the bytes
// per second of the SHA-NI instructions (OpenSSL) working on one message at a time. The cpu
// backend hashes a training state's row chunks with it (Backend::HashRowChunks).
//
// The digests are plain FIPS 180-4 SHA-256, the same bytes as probity::Sha256 (tested against
// it over every padding case).
//
// Thread-safe: no state.
#pragma once

#include <cstddef>
#include <span>

#include "backend_impl.h"

namespace probity::workloads::cpu {

inline constexpr size_t kSha256Lanes = 16;

// True when the processor and the operating system support AVX-512 F and BW (what
// Sha256x16 needs).
bool CpuHasAvx512Bw();

// out[i] = SHA-256(items[i].header || items[i].data[0 .. items[i].bytes)). Messages of
// different lengths may share a call (a lane that has finished idles until the longest is
// done, so callers group messages of similar length). REQUIRES: items.size() <= 16 and
// out.size() == items.size(); CpuHasAvx512Bw().
void Sha256x16(std::span<Hash256> out, std::span<const internal::HashItem> items);

}  // namespace probity::workloads::cpu
