// BIP-350 bech32m vectors (tests/data/bech32m/vectors.tsv) and Probity addresses.
// `ctest -R bech32m` selects these.
#include "probity/primitives/bech32m.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

using namespace probity;

namespace {
std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
}  // namespace

TEST_CASE("bech32m: BIP-350 valid and invalid vectors with reasons") {
  std::ifstream in(PROBITY_TEST_DATA_DIR "/bech32m/vectors.tsv");
  REQUIRE(in.good());
  std::string line;
  int valid = 0, invalid = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) f.push_back(col);
    REQUIRE(f.size() >= 2);
    Bytes raw = FromHex(f[1]).value();
    std::string s(raw.begin(), raw.end());
    CAPTURE(s);
    auto d = Bech32mDecode(s);
    if (f[0] == "valid") {
      REQUIRE(d.ok());
      // Re-encoding gives the lowercased input back.
      CHECK(Bech32mEncode(d->hrp, d->data) == Lower(s));
      ++valid;
    } else {
      REQUIRE(f.size() >= 3);
      REQUIRE_FALSE(d.ok());
      CHECK(d.status().code() == Code::kInvalidArgument);
      // Our message names the same reason as the vector.
      std::string reason = Lower(f[2]), msg = Lower(d.status().message());
      CAPTURE(msg);
      if (reason.find("out of range") != std::string::npos)
        CHECK(msg.find("out of range") != std::string::npos);
      else if (reason.find("length") != std::string::npos)
        CHECK(msg.find("length") != std::string::npos);
      else if (reason.find("separator") != std::string::npos)
        CHECK(msg.find("separator") != std::string::npos);
      else if (reason.find("empty hrp") != std::string::npos)
        CHECK(msg.find("empty") != std::string::npos);
      else if (reason.find("data character") != std::string::npos)
        CHECK(msg.find("data character") != std::string::npos);
      else if (reason.find("short checksum") != std::string::npos)
        CHECK(msg.find("checksum too short") != std::string::npos);
      else if (reason.find("character in checksum") != std::string::npos)
        CHECK(msg.find("character in checksum") != std::string::npos);
      else
        CHECK(msg.find("checksum") != std::string::npos);
      ++invalid;
    }
  }
  CHECK(valid == 7);
  CHECK(invalid == 14);
}

TEST_CASE("bech32m: addresses round-trip and bad ones are refused") {
  auto k = SecretKey::Generate().value();
  std::string addr = EncodeAddress(k.PublicKey());
  CHECK(addr.rfind("prb1", 0) == 0);
  CHECK(addr.size() == 4 + 52 + 6);
  CHECK(DecodeAddress(addr).value() == k.PublicKey());
  std::string upper = addr;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(DecodeAddress(upper).value() == k.PublicKey());
  std::string flipped = addr;
  flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
  CHECK_FALSE(DecodeAddress(flipped).ok());
  std::string mixed = addr;
  mixed[5] = static_cast<char>(::toupper(mixed[5]));
  if (mixed != addr) CHECK_FALSE(DecodeAddress(mixed).ok());
  // Right checksum, wrong prefix.
  auto words = ConvertBits(k.PublicKey(), 8, 5, true).value();
  auto wrong = DecodeAddress(Bech32mEncode("bc", words));
  CHECK(wrong.status().message().find("prefix") != std::string::npos);
  // Right prefix, wrong length.
  words.pop_back();
  CHECK_FALSE(DecodeAddress(Bech32mEncode("prb", words)).ok());
  CHECK_FALSE(DecodeAddress("").ok());
  CHECK_FALSE(DecodeAddress("prb1").ok());
}

TEST_CASE("bech32m: the fixed-shape address encoder agrees with the general encoder") {
  // EncodeAddress has its own allocation-free path; it must give the exact string that
  // ConvertBits + Bech32mEncode give, for keys with every byte value in every position.
  for (int i = 0; i < 512; ++i) {
    XOnlyPubKey k = Sha256("address encoder " + std::to_string(i));
    if (i < 256) k.fill(static_cast<uint8_t>(i));
    auto words = ConvertBits(k, 8, 5, true);
    REQUIRE(words.ok());
    CHECK(EncodeAddress(k) == Bech32mEncode(kAddressPrefix, *words));
  }
}
