#include <doctest/doctest.h>

#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"

using namespace probity;

TEST_CASE("hex: round trip and errors") {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  CHECK(ToHex(b) == "0001abff");
  CHECK(FromHex("0001ABff").value() == b);
  CHECK(FromHex("").value().empty());
  auto odd = FromHex("abc");
  CHECK(odd.status().code() == Code::kInvalidArgument);
  CHECK(odd.status().message().find("odd length") != std::string::npos);
  auto bad = FromHex("00zz");
  CHECK(bad.status().message().find("position 2") != std::string::npos);
  CHECK_FALSE(Hash256FromHex("00").ok());
  CHECK(Hash256FromHex(std::string(64, 'a')).ok());
}

TEST_CASE("encoding: little-endian integers and bounded reader") {
  ByteWriter w;
  w.U8(7);
  w.U32(0x01020304);
  w.U64(0x1122334455667788ull);
  w.F32(-1.5f);
  w.LengthPrefixed(AsBytes("hi"));
  Bytes b = w.Take();
  CHECK(ToHex(ByteView(b).subspan(1, 4)) == "04030201");
  ByteReader r(b);
  uint8_t u8;
  uint32_t u32;
  uint64_t u64;
  float f;
  ByteView s;
  REQUIRE(r.U8(&u8).ok());
  REQUIRE(r.U32(&u32).ok());
  REQUIRE(r.U64(&u64).ok());
  REQUIRE(r.F32(&f).ok());
  REQUIRE(r.LengthPrefixed(&s).ok());
  CHECK(u8 == 7);
  CHECK(u32 == 0x01020304);
  CHECK(u64 == 0x1122334455667788ull);
  CHECK(f == -1.5f);
  CHECK(AsChars(s) == "hi");
  CHECK(r.ExpectEnd().ok());
  CHECK(r.U8(&u8).code() == Code::kCorruption);

  // Truncated at every length: never reads past the end.
  for (size_t n = 0; n < b.size(); ++n) {
    ByteReader t(ByteView(b).first(n));
    Status st = t.U8(&u8);
    if (st.ok()) st = t.U32(&u32);
    if (st.ok()) st = t.U64(&u64);
    if (st.ok()) st = t.F32(&f);
    if (st.ok()) st = t.LengthPrefixed(&s);
    CHECK(st.code() == Code::kCorruption);
  }
  // A length prefix over the limit is refused before reading.
  ByteReader lim(b);
  lim.U8(&u8).ok();
  CHECK(lim.LengthPrefixed(&s, 2).code() == Code::kCorruption);

  uint8_t be[8];
  PutU64BE(be, 0x0102030405060708ull);
  CHECK(be[0] == 1);
  CHECK(GetU64BE(be) == 0x0102030405060708ull);
  CHECK(ConstantTimeEqual(AsBytes("abc"), AsBytes("abc")));
  CHECK_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("abd")));
  CHECK_FALSE(ConstantTimeEqual(AsBytes("abc"), AsBytes("ab")));
}
