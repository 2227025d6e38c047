#include "probity/primitives/bech32m.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace probity {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32mConst = 0x2bc830a3;
constexpr size_t kMaxLength = 90;

int8_t CharsetRev(char c) {
  for (int i = 0; i < 32; ++i)
    if (kCharset[i] == c) return static_cast<int8_t>(i);
  return -1;
}

// The generator's contribution for each value of the 5 bits shifted out, XORed together ahead
// of time: one lookup per step instead of five masked XORs (the chain encodes two addresses
// into every transfer's event; addresses are public, so a data-dependent lookup is fine).
constexpr std::array<uint32_t, 32> MakeGenTable() {
  constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  std::array<uint32_t, 32> t{};
  for (uint32_t top = 0; top < 32; ++top) {
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) t[top] ^= kGen[i];
    }
  }
  return t;
}
constexpr std::array<uint32_t, 32> kGenTable = MakeGenTable();

// One step of the BCH checksum.
inline uint32_t PolymodStep(uint32_t chk, uint8_t v) {
  return ((chk & 0x1ffffff) << 5 ^ v) ^ kGenTable[chk >> 25];
}

uint32_t Polymod(const std::vector<uint8_t>& values) {
  uint32_t chk = 1;
  for (uint8_t v : values) chk = PolymodStep(chk, v);
  return chk;
}

std::vector<uint8_t> HrpExpand(std::string_view hrp) {
  std::vector<uint8_t> r;
  r.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) r.push_back(static_cast<uint8_t>(c) >> 5);
  r.push_back(0);
  for (char c : hrp) r.push_back(static_cast<uint8_t>(c) & 31);
  return r;
}

// The checksum is computed step by step over hrp-expansion, words and six zeros, without
// building that sequence: the chain encodes two addresses into every transfer's event.
std::string Encode(std::string_view hrp, const uint8_t* words5, size_t n) {
  uint32_t chk = 1;
  for (char c : hrp) chk = PolymodStep(chk, static_cast<uint8_t>(c) >> 5);
  chk = PolymodStep(chk, 0);
  for (char c : hrp) chk = PolymodStep(chk, static_cast<uint8_t>(c) & 31);
  for (size_t i = 0; i < n; ++i) chk = PolymodStep(chk, words5[i]);
  for (int i = 0; i < 6; ++i) chk = PolymodStep(chk, 0);
  chk ^= kBech32mConst;
  std::string out(hrp.size() + 1 + n + 6, '1');
  char* o = std::copy(hrp.begin(), hrp.end(), out.data()) + 1;  // past the '1'
  for (size_t i = 0; i < n; ++i) *o++ = kCharset[words5[i] & 31];
  for (int i = 0; i < 6; ++i) *o++ = kCharset[(chk >> (5 * (5 - i))) & 31];
  return out;
}

}  // namespace

std::string Bech32mEncode(std::string_view hrp, const std::vector<uint8_t>& words5) {
  return Encode(hrp, words5.data(), words5.size());
}

Result<Bech32mDecoded> Bech32mDecode(std::string_view str) {
  if (str.size() > kMaxLength) {
    return Status::InvalidArgument("bech32m: overall max length exceeded (" +
                                   std::to_string(str.size()) + " > 90 characters)");
  }
  bool lower = false, upper = false;
  for (size_t i = 0; i < str.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(str[i]);
    if (c < 33 || c > 126) {
      return Status::InvalidArgument("bech32m: character out of range at position " +
                                     std::to_string(i));
    }
    if (std::islower(c)) lower = true;
    if (std::isupper(c)) upper = true;
  }
  if (lower && upper) return Status::InvalidArgument("bech32m: mixed upper and lower case");
  size_t sep = str.rfind('1');
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("bech32m: no separator character '1'");
  }
  if (sep == 0) return Status::InvalidArgument("bech32m: empty human-readable prefix");
  if (str.size() - sep - 1 < 6) return Status::InvalidArgument("bech32m: checksum too short");
  Bech32mDecoded out;
  for (size_t i = 0; i < sep; ++i) {
    out.hrp += static_cast<char>(std::tolower(static_cast<unsigned char>(str[i])));
  }
  std::vector<uint8_t> words;
  for (size_t i = sep + 1; i < str.size(); ++i) {
    int8_t v = CharsetRev(static_cast<char>(std::tolower(static_cast<unsigned char>(str[i]))));
    if (v < 0) {
      bool in_checksum = i >= str.size() - 6;
      return Status::InvalidArgument(std::string("bech32m: invalid ") +
                                     (in_checksum ? "character in checksum" : "data character") +
                                     " '" + str[i] + "' at position " + std::to_string(i));
    }
    words.push_back(static_cast<uint8_t>(v));
  }
  std::vector<uint8_t> values = HrpExpand(out.hrp);
  values.insert(values.end(), words.begin(), words.end());
  if (Polymod(values) != kBech32mConst) {
    return Status::InvalidArgument("bech32m: invalid checksum");
  }
  words.resize(words.size() - 6);
  out.data = std::move(words);
  return out;
}

Result<std::vector<uint8_t>> ConvertBits(ByteView in, int from_bits, int to_bits, bool pad) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t maxv = (1u << to_bits) - 1;
  std::vector<uint8_t> out;
  for (uint8_t v : in) {
    if (v >> from_bits) return Status::InvalidArgument("value out of range for bit width");
    acc = (acc << from_bits) | v;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to_bits - bits)) & maxv));
  } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
    return Status::InvalidArgument("non-zero or excess padding bits");
  }
  return out;
}

std::string EncodeAddress(const XOnlyPubKey& key) {
  // 8-bit to 5-bit groups into a fixed array (ConvertBits's vector is not needed for the one
  // fixed shape).
  uint8_t words[(32 * 8 + 4) / 5];
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (uint8_t b : key) {
    acc = (acc << 8) | b;
    for (bits += 8; bits >= 5; bits -= 5) {
      words[n++] = static_cast<uint8_t>((acc >> (bits - 5)) & 31);
    }
  }
  words[n++] = static_cast<uint8_t>((acc << (5 - bits)) & 31);  // 256 = 51 * 5 + 1: pad
  return Encode(kAddressPrefix, words, n);
}

Result<XOnlyPubKey> DecodeAddress(std::string_view address) {
  PROBITY_ASSIGN_OR_RETURN(Bech32mDecoded d, Bech32mDecode(address));
  if (d.hrp != kAddressPrefix) {
    return Status::InvalidArgument("address has prefix '" + d.hrp + "', expected 'prb'");
  }
  auto bytes = ConvertBits(d.data, 5, 8, false);
  if (!bytes.ok()) return bytes.status().WithContext("address data");
  if (bytes->size() != 32) {
    return Status::InvalidArgument("address holds " + std::to_string(bytes->size()) +
                                   " bytes, expected a 32-byte public key");
  }
  XOnlyPubKey key;
  std::copy(bytes->begin(), bytes->end(), key.begin());
  PROBITY_RETURN_IF_ERROR(ValidateXOnlyPubKey(key).WithContext("address"));
  return key;
}

}  // namespace probity
