// Lowercase hexadecimal, the form in which hashes, keys and ids are shown to people.
#pragma once

#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity {

// Lowercase hex, two digits per byte.
std::string ToHex(ByteView bytes);
inline std::string ToHex(const Hash256& h) { return ToHex(ByteView(h)); }

// Accepts upper- or lowercase digits; an odd length or a non-hex character is
// kInvalidArgument naming the position.
Result<Bytes> FromHex(std::string_view hex);

// As FromHex, and requires exactly 32 bytes.
Result<Hash256> Hash256FromHex(std::string_view hex);

}  // namespace probity
