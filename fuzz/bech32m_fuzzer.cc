// Addresses typed by people and read from files: Bech32mDecode and DecodeAddress. Input: the
// string.
#include <cctype>
#include <cstdlib>
#include <string>

#include "probity/primitives/bech32m.h"

using namespace probity;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  auto d = Bech32mDecode(s);
  if (d.ok()) {
    // A valid string is its own encoding (up to case, which Bech32m ignores).
    std::string lower = s;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (Bech32mEncode(d->hrp, d->data) != lower) std::abort();
  }
  auto a = DecodeAddress(s);
  if (a.ok() && !d.ok()) std::abort();
  if (a.ok()) {
    std::string lower = s;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (EncodeAddress(*a) != lower) std::abort();
  }
  return 0;
}
