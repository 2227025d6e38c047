#include "probity/primitives/sha256.h"

#include <doctest/doctest.h>

#include <random>

#include "probity/primitives/hex.h"

using namespace probity;

TEST_CASE("sha256: FIPS 180-4 vectors") {
  CHECK(ToHex(Sha256(std::string_view(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(ToHex(Sha256(std::string_view("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(
      ToHex(Sha256(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  CHECK(ToHex(Sha256(std::string_view(million))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: streaming, copying and the portable twin agree") {
  std::mt19937 rng(42);
  for (size_t len : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 127u, 128u, 1000u, 4097u}) {
    Bytes data(len);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    Hash256 one = Sha256(data);
    CHECK(Sha256Portable(data) == one);
    Sha256Hasher h;
    size_t i = 0;
    while (i < len) {
      size_t step = std::min<size_t>(len - i, 1 + rng() % 70);
      h.Update(ByteView(data).subspan(i, step));
      i += step;
    }
    Sha256Hasher copy = h;
    CHECK(h.Final() == one);
    CHECK(copy.Final() == one);
    CHECK(h.Final() == Sha256(ByteView()));  // Final resets
  }
}

TEST_CASE("sha256: BIP-340 tagged hash") {
  // tagged_hash(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m)
  Hash256 t = Sha256(std::string_view("BIP0340/challenge"));
  Bytes pre(t.begin(), t.end());
  pre.insert(pre.end(), t.begin(), t.end());
  pre.push_back('x');
  CHECK(TaggedHash("BIP0340/challenge", AsBytes("x")) == Sha256(pre));
  CHECK(TaggedHash("probity/tx", AsBytes("x")) != TaggedHash("probity/block", AsBytes("x")));
  Sha256Hasher th = TaggedHasher("probity/tx");
  Sha256Hasher th2 = th;
  CHECK(th.Update(std::string_view("a")).Final() == TaggedHash("probity/tx", AsBytes("a")));
  CHECK(th2.Update(std::string_view("b")).Final() == TaggedHash("probity/tx", AsBytes("b")));
}
