#include "probity/primitives/bytes.h"

#include <cstring>

namespace probity {

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t acc = 0;
  for (size_t i = 0; i < a.size(); ++i) acc |= static_cast<uint8_t>(a[i] ^ b[i]);
  return acc == 0;
}

void SecureWipe(void* data, size_t size) {
  volatile uint8_t* p = static_cast<volatile uint8_t*>(data);
  while (size--) *p++ = 0;
  // A compiler barrier so that the stores are not considered dead.
  __asm__ __volatile__("" : : "r"(data) : "memory");
}

}  // namespace probity
