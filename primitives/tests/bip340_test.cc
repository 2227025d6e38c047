// BIP-340 official test vectors (tests/data/bip340/test-vectors.csv, from the BIP), including
// the variable-length-message vectors 15..18. `ctest -R bip340` selects these.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "probity/primitives/hex.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/sha256.h"

using namespace probity;

namespace {
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) out.push_back(f);
  if (!line.empty() && line.back() == ',') out.push_back("");
  return out;
}
}  // namespace

TEST_CASE("bip340: all official test vectors") {
  std::ifstream in(PROBITY_TEST_DATA_DIR "/bip340/test-vectors.csv");
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  int count = 0, signed_count = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto f = SplitCsv(line);
    REQUIRE(f.size() >= 7);
    CAPTURE(f[0]);
    const std::string &sk_hex = f[1], &pk_hex = f[2], &aux_hex = f[3], &msg_hex = f[4],
                      &sig_hex = f[5];
    bool expected = f[6] == "TRUE";
    Bytes msg = FromHex(msg_hex).value();
    Bytes sig = FromHex(sig_hex).value();
    Bytes pkb = FromHex(pk_hex).value();
    REQUIRE(pkb.size() == 32);
    XOnlyPubKey pk;
    std::copy(pkb.begin(), pkb.end(), pk.begin());
    if (!sk_hex.empty()) {
      auto sk = SecretKey::FromBytes(FromHex(sk_hex).value());
      REQUIRE(sk.ok());
      CHECK(ToHex(sk->PublicKey()) == ToHex(pkb));
      std::array<uint8_t, 32> aux;
      Bytes auxb = FromHex(aux_hex).value();
      std::copy(auxb.begin(), auxb.end(), aux.begin());
      auto s = sk->SignWithAux(msg, aux);
      REQUIRE(s.ok());
      CHECK(ToHex(*s) == ToHex(sig));
      ++signed_count;
    }
    CHECK(VerifySchnorr(pk, msg, ByteView(sig)) == expected);
    CHECK(VerifySchnorrBare(pk.data(), msg.data(), msg.size(), sig.data()) == expected);
    ++count;
  }
  CHECK(count == 19);
  CHECK(signed_count >= 8);
}

TEST_CASE("bip340: fresh keys sign and verify; bad inputs are rejected") {
  auto k = SecretKey::Generate();
  REQUIRE(k.ok());
  auto k2 = SecretKey::Generate();
  REQUIRE(k2.ok());
  CHECK(k->PublicKey() != k2->PublicKey());
  Bytes msg = {1, 2, 3};
  auto sig = k->Sign(msg);
  REQUIRE(sig.ok());
  CHECK(VerifySchnorr(k->PublicKey(), msg, *sig));
  CHECK_FALSE(VerifySchnorr(k2->PublicKey(), msg, *sig));
  Bytes other = {1, 2, 4};
  CHECK_FALSE(VerifySchnorr(k->PublicKey(), other, *sig));
  auto tampered = *sig;
  tampered[10] ^= 1;
  CHECK_FALSE(VerifySchnorr(k->PublicKey(), msg, tampered));
  // A short signature is false, not a crash.
  CHECK_FALSE(VerifySchnorr(k->PublicKey(), msg, ByteView(sig->data(), 63)));
  CHECK_FALSE(VerifySchnorr(k->PublicKey(), msg, ByteView()));
  // Auxiliary randomness makes signatures differ; both verify.
  auto sig2 = k->Sign(msg);
  CHECK(*sig2 != *sig);
  CHECK(VerifySchnorr(k->PublicKey(), msg, *sig2));
  // Invalid secret keys.
  CHECK(SecretKey::FromBytes(Bytes(32, 0)).status().code() == Code::kInvalidArgument);
  CHECK(SecretKey::FromBytes(Bytes(31, 1)).status().code() == Code::kInvalidArgument);
  CHECK_FALSE(SecretKey::FromBytes(Bytes(32, 0xff)).ok());  // >= group order
  // Off-curve public key.
  XOnlyPubKey bad{};
  bad.fill(0xff);
  CHECK_FALSE(ValidateXOnlyPubKey(bad).ok());
  CHECK_FALSE(VerifySchnorr(bad, msg, *sig));
}

TEST_CASE("bip340: a moved key signs as before; the key it was moved from no longer signs") {
  auto k = SecretKey::FromBytes(Sha256("moved key"));
  REQUIRE(k.ok());
  const XOnlyPubKey pub = k->PublicKey();
  Bytes msg = {9, 8, 7};
  std::array<uint8_t, 32> aux{};
  auto before = k->SignWithAux(msg, aux);
  REQUIRE(before.ok());
  SecretKey moved = std::move(*k);
  auto after = moved.SignWithAux(msg, aux);
  REQUIRE(after.ok());
  CHECK(*after == *before);  // same key, same aux: the same signature
  CHECK(VerifySchnorr(pub, msg, *after));
  CHECK_FALSE(k->SignWithAux(msg, aux).ok());  // its secret and keypair were wiped
}
