// FIPS 180-4 SHA-256 in portable C++: the reference beside OpenSSL's accelerated one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace probity::internal {

struct Sha256State {
  uint32_t h[8];
  uint8_t buf[64];
  uint64_t total = 0;  // bytes hashed
  size_t buf_len = 0;
};

void Sha256Init(Sha256State* s);
void Sha256Update(Sha256State* s, const uint8_t* data, size_t len);
void Sha256Final(Sha256State* s, uint8_t out[32]);

}  // namespace probity::internal
