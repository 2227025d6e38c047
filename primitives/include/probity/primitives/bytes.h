// Byte strings and fixed-size digests shared by every component.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace probity {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

// A SHA-256 digest (also the shape of Merkle roots, tx ids, model ids).
using Hash256 = std::array<uint8_t, 32>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(ByteView b) { return Bytes(b.begin(), b.end()); }

// Constant-time equality for secrets and MACs; the running time depends only on the sizes.
bool ConstantTimeEqual(ByteView a, ByteView b);

// Overwrites memory in a way the optimiser may not remove (for secret keys, passphrases).
void SecureWipe(void* data, size_t size);

}  // namespace probity
