// Bech32m (BIP-350) strings and Probity addresses.
//
// An address is the bech32m encoding, with the human-readable prefix "prb", of the 32-byte
// x-only public key regrouped into 5-bit words: "prb1" followed by 52 data characters and a
// 6-character checksum. Decoding accepts all-lowercase or all-uppercase strings (BIP-173
// rules), rejects mixed case, characters out of range, a missing separator, an empty prefix,
// a bad checksum (including one computed with bech32 rather than bech32m) and strings longer
// than 90 characters; each error names its reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity {

inline constexpr std::string_view kAddressPrefix = "prb";

struct Bech32mDecoded {
  std::string hrp;            // lowercased
  std::vector<uint8_t> data;  // 5-bit words, checksum removed
};

// REQUIRES: hrp is 1..83 lowercase printable characters and every word < 32.
std::string Bech32mEncode(std::string_view hrp, const std::vector<uint8_t>& words5);
Result<Bech32mDecoded> Bech32mDecode(std::string_view str);

// Regroups bits: 8→5 with padding (pad=true) or 5→8 requiring zero padding (pad=false).
Result<std::vector<uint8_t>> ConvertBits(ByteView in, int from_bits, int to_bits, bool pad);

std::string EncodeAddress(const XOnlyPubKey& key);
// kInvalidArgument for a bad string, a wrong prefix, a wrong length or a key off the curve.
Result<XOnlyPubKey> DecodeAddress(std::string_view address);

}  // namespace probity
