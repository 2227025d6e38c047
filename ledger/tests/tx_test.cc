// Transactions: decoding, canonical encodings, signatures, malformed input of every kind.
#include "probity/ledger/tx.h"

#include <doctest/doctest.h>
#include <google/protobuf/stubs/logging.h>

#include <cstring>
#include <random>

#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/types/v1/tx.pb.h"
#include "test_chain.h"

using namespace probity;
using namespace probity::ledger;

namespace {

TxFields Fields(uint64_t nonce = 1) {
  TxFields f;
  f.chain_id = "test-chain";
  f.nonce = nonce;
  f.fee = 10;
  f.msg_type_url = "probity.test.v1.Msg";
  f.msg_value = {1, 2, 3};
  return f;
}

uint32_t CodeOf(TxCode c) { return static_cast<uint32_t>(c); }

// What DecodeTx decided before it read the wire itself: protobuf's parser, then a
// re-serialisation compared with the input. The reference for the one-pass decoder.
bool ReferenceDecode(ByteView bytes, DecodedTx* out) {
  types::v1::SignedTx stx;
  if (bytes.empty() || !stx.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !IsCanonicalEncoding(stx, bytes) || stx.signature().size() != 64) {
    return false;
  }
  types::v1::TxBody body;
  if (!body.ParseFromString(stx.body()) || !IsCanonicalEncoding(body, AsBytes(stx.body())) ||
      body.signer().size() != 32 || body.chain_id().empty() || body.nonce() == 0 ||
      !body.has_msg() || body.msg().type_url().empty() || body.memo().size() > kMaxMemoBytes) {
    return false;
  }
  std::memcpy(out->signature.data(), stx.signature().data(), 64);
  out->chain_id = body.chain_id();
  std::memcpy(out->signer.data(), body.signer().data(), 32);
  out->nonce = body.nonce();
  out->fee = body.fee();
  out->msg_type_url = body.msg().type_url();
  out->msg_value.assign(body.msg().value().begin(), body.msg().value().end());
  out->memo = body.memo();
  return true;
}

// One random edit: flip a bit, set a byte, insert, delete, duplicate or truncate.
std::string Mutate(std::string s, std::mt19937_64& rng) {
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[at] = static_cast<char>(s[at] ^ (1u << (rng() % 8)));
        break;
      case 1:
        if (!s.empty()) s[at] = static_cast<char>(rng());
        break;
      case 2:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(rng()));
        break;
      case 3:
        if (!s.empty()) s.erase(at, 1);
        break;
      case 4:
        s += s.substr(at, rng() % 8);
        break;
      default:
        s.resize(at);
        break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("a built transaction decodes, verifies and has id SHA-256(bytes)") {
  SecretKey k = testing::TestKey(1);
  Bytes tx = BuildSignedTx(k, Fields(7)).value();
  DecodedTx d;
  TxVerdict v = DecodeTx(tx, 4096, &d);
  REQUIRE(v.ok());
  CHECK(d.id == Sha256(ByteView(tx)));
  CHECK(d.signer == k.PublicKey());
  CHECK(d.nonce == 7);
  CHECK(d.fee == 10);
  CHECK(d.chain_id == "test-chain");
  CHECK(d.msg_type_url == "probity.test.v1.Msg");
  CHECK(d.size == tx.size());
  CHECK(VerifyTxSignature(d));
}

TEST_CASE("the signature covers the exact body bytes") {
  SecretKey k = testing::TestKey(1);
  Bytes tx = BuildSignedTx(k, Fields()).value();
  types::v1::SignedTx stx;
  REQUIRE(stx.ParseFromArray(tx.data(), static_cast<int>(tx.size())));
  types::v1::TxBody body;
  REQUIRE(body.ParseFromString(stx.body()));
  body.set_fee(11);  // a relayer raising the fee
  stx.set_body(SerializeCanonical(body));
  std::string forged = SerializeCanonical(stx);
  DecodedTx d;
  REQUIRE(DecodeTx(AsBytes(forged), 4096, &d).ok());
  CHECK_FALSE(VerifyTxSignature(d));
}

TEST_CASE("malformed transactions are rejected with a reason, never a crash") {
  SecretKey k = testing::TestKey(1);
  Bytes good = BuildSignedTx(k, Fields()).value();
  DecodedTx d;
  google::protobuf::LogSilencer quiet;  // garbage makes protobuf log invalid UTF-8

  SUBCASE("empty") {
    auto v = DecodeTx({}, 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("empty") != std::string::npos);
  }
  SUBCASE("every truncation") {
    for (size_t n = 0; n < good.size(); ++n) {
      auto v = DecodeTx(ByteView(good.data(), n), 4096, &d);
      INFO("length " << n);
      CHECK_FALSE(v.ok());
      CHECK(v.code == CodeOf(TxCode::kMalformed));
      CHECK_FALSE(v.log.empty());
    }
  }
  SUBCASE("random garbage") {
    std::mt19937_64 rng(42);
    for (int i = 0; i < 2000; ++i) {
      Bytes junk(rng() % 300);
      for (auto& b : junk) b = static_cast<uint8_t>(rng());
      auto v = DecodeTx(junk, 4096, &d);
      CHECK_FALSE(v.ok());
      CHECK_FALSE(v.log.empty());
    }
  }
  SUBCASE("every single-bit flip is refused or breaks the signature") {
    for (size_t i = 0; i < good.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes t = good;
        t[i] ^= static_cast<uint8_t>(1u << bit);
        DecodedTx x;
        auto v = DecodeTx(t, 4096, &x);
        if (v.ok()) CHECK_FALSE(VerifyTxSignature(x));
      }
    }
  }
  SUBCASE("oversize") {
    auto v = DecodeTx(good, good.size() - 1, &d);
    CHECK(v.code == CodeOf(TxCode::kTooLarge));
    CHECK(v.log.find("limit") != std::string::npos);
  }
  SUBCASE("non-canonical envelope: a relayer cannot mint a second tx id") {
    types::v1::SignedTx stx;
    REQUIRE(stx.ParseFromArray(good.data(), static_cast<int>(good.size())));
    // Same fields, written in reverse order.
    std::string sig_field = SerializeCanonical([&] {
      types::v1::SignedTx s;
      s.set_signature(stx.signature());
      return s;
    }());
    std::string body_field = SerializeCanonical([&] {
      types::v1::SignedTx s;
      s.set_body(stx.body());
      return s;
    }());
    std::string reordered = sig_field + body_field;
    auto v = DecodeTx(AsBytes(reordered), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("canonical") != std::string::npos);
    // An unknown field appended.
    Bytes extra = good;
    extra.push_back(0x18);  // field 3, varint
    extra.push_back(0x01);
    CHECK(DecodeTx(extra, 4096, &d).code == CodeOf(TxCode::kMalformed));
  }
  SUBCASE("wrong field sizes") {
    types::v1::SignedTx stx;
    REQUIRE(stx.ParseFromArray(good.data(), static_cast<int>(good.size())));
    types::v1::SignedTx short_sig = stx;
    short_sig.set_signature(stx.signature().substr(0, 63));
    auto v = DecodeTx(AsBytes(SerializeCanonical(short_sig)), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("64 bytes") != std::string::npos);

    types::v1::TxBody body;
    REQUIRE(body.ParseFromString(stx.body()));
    body.set_signer(body.signer().substr(0, 31));
    types::v1::SignedTx bad_signer = stx;
    bad_signer.set_body(SerializeCanonical(body));
    v = DecodeTx(AsBytes(SerializeCanonical(bad_signer)), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("signer") != std::string::npos);
  }
  SUBCASE("no message, nonce zero, long memo") {
    TxFields f = Fields();
    f.msg_type_url.clear();
    f.msg_value.clear();
    auto v = DecodeTx(BuildSignedTx(k, f).value(), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("no message") != std::string::npos);
    v = DecodeTx(BuildSignedTx(k, Fields(0)).value(), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    f = Fields();
    f.memo = std::string(kMaxMemoBytes + 1, 'x');
    v = DecodeTx(BuildSignedTx(k, f).value(), 4096, &d);
    CHECK(v.code == CodeOf(TxCode::kMalformed));
    CHECK(v.log.find("memo") != std::string::npos);
  }
}

TEST_CASE("the one-pass decoder agrees with protobuf's parser on mutated transactions") {
  google::protobuf::LogSilencer quiet;
  std::mt19937_64 rng(7);
  SecretKey k = testing::TestKey(3);
  std::vector<TxFields> shapes(4, Fields(5));
  shapes[1].memo = "héllo ✓";
  shapes[2].msg_value.clear();
  shapes[3].fee = 0;
  shapes[3].nonce = 300;
  size_t accepted = 0, checked = 0;
  auto compare = [&](const std::string& candidate) {
    ByteView in = AsBytes(candidate);
    DecodedTx want, got;
    const bool ref = ReferenceDecode(in, &want);
    const TxVerdict v = DecodeTx(in, 4096, &got);
    INFO("input " << ToHex(in));
    REQUIRE(v.ok() == ref);
    ++checked;
    if (!ref) {
      CHECK(v.code == CodeOf(TxCode::kMalformed));
      return;
    }
    ++accepted;
    CHECK(got.signature == want.signature);
    CHECK(got.chain_id == want.chain_id);
    CHECK(got.signer == want.signer);
    CHECK(got.nonce == want.nonce);
    CHECK(got.fee == want.fee);
    CHECK(got.msg_type_url == want.msg_type_url);
    CHECK(got.msg_value == want.msg_value);
    CHECK(got.memo == want.memo);
    CHECK(got.size == in.size());
  };
  for (const TxFields& f : shapes) {
    Bytes good = BuildSignedTx(k, f).value();
    types::v1::SignedTx stx;
    REQUIRE(stx.ParseFromArray(good.data(), static_cast<int>(good.size())));
    types::v1::TxBody body;
    REQUIRE(body.ParseFromString(stx.body()));
    const std::string msg = SerializeCanonical(body.msg());
    for (int i = 0; i < 6000; ++i) {
      // Mutate the envelope, the body inside a valid envelope, or the message inside a valid
      // body, so that every level's rules are reached.
      std::string candidate;
      switch (i % 3) {
        case 0:
          candidate = Mutate(std::string(good.begin(), good.end()), rng);
          break;
        case 1: {
          types::v1::SignedTx t = stx;
          t.set_body(Mutate(stx.body(), rng));
          candidate = SerializeCanonical(t);
          break;
        }
        default: {
          // The message field (5) written by hand after the body's other fields, so that a
          // mutated message keeps its place in a canonical body.
          types::v1::TxBody b = body;
          b.clear_msg();
          b.clear_memo();
          std::string m = Mutate(msg, rng);
          std::string body_bytes = SerializeCanonical(b);
          body_bytes.push_back(0x2A);
          for (size_t n = m.size();; n >>= 7) {
            body_bytes.push_back(static_cast<char>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
            if (n <= 0x7F) break;
          }
          body_bytes += m;
          if (!body.memo().empty()) {
            types::v1::TxBody memo_only;
            memo_only.set_memo(body.memo());
            body_bytes += SerializeCanonical(memo_only);
          }
          types::v1::SignedTx t = stx;
          t.set_body(body_bytes);
          candidate = SerializeCanonical(t);
          break;
        }
      }
      compare(candidate);
    }
  }
  // Edges that random edits rarely produce, each inside an otherwise valid body: a default
  // value written out, a varint or length with a needless zero group, invalid UTF-8, a known
  // field with the wrong wire type, a repeated field, an unknown field, a group.
  const Bytes good = BuildSignedTx(k, shapes[1]).value();
  types::v1::SignedTx stx;
  REQUIRE(stx.ParseFromArray(good.data(), static_cast<int>(good.size())));
  const std::string body = stx.body();
  auto with_body = [&](const std::string& b) {
    types::v1::SignedTx t = stx;
    t.set_body(b);
    return SerializeCanonical(t);
  };
  // The body's fields in order, as (field 1..6) slices of the canonical encoding.
  std::vector<std::string> parts;
  for (size_t at = 0; at < body.size();) {
    const uint8_t tag = static_cast<uint8_t>(body[at]);
    size_t len = 1;
    if ((tag & 7) == 0) {
      while (static_cast<uint8_t>(body[at + len]) & 0x80) ++len;
      ++len;
    } else {
      size_t n = 0, shift = 0, l = 1;
      for (;; ++l, shift += 7) {
        n |= static_cast<size_t>(static_cast<uint8_t>(body[at + l]) & 0x7F) << shift;
        if ((static_cast<uint8_t>(body[at + l]) & 0x80) == 0) break;
      }
      len = l + 1 + n;
    }
    parts.push_back(body.substr(at, len));
    at += len;
  }
  REQUIRE(parts.size() == 6);
  auto join = [&](size_t before, const std::string& insert) {
    std::string b;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i == before) b += insert;
      b += parts[i];
    }
    if (before >= parts.size()) b += insert;
    return b;
  };
  const std::string fee_zero("\x20\x00", 2), memo_empty("\x32\x00", 2);
  const std::vector<std::string> edges = {
      join(3, std::string("\x18\x05", 2)) /* nonce twice */,
      join(6, fee_zero) /* fee 0 after the memo: also out of order */,
      std::string(parts[0] + parts[1] + parts[2] + fee_zero + parts[4] + parts[5]),
      std::string(parts[0] + parts[1] + parts[2] + parts[3] + parts[4] + memo_empty),
      std::string(parts[0] + parts[1] + std::string("\x18\x85\x00", 3) + parts[3] + parts[4] +
                  parts[5]) /* nonce 5 in two bytes */,
      std::string(parts[0] + parts[1] + parts[2] + parts[3] + parts[4] +
                  std::string("\x32\x02\xC3\x28", 4)) /* invalid UTF-8 memo */,
      std::string(parts[0] + parts[1] + parts[2] + parts[3] + parts[4] +
                  std::string("\x32\x03\xED\xA0\x80", 5)) /* a UTF-16 surrogate */,
      std::string(parts[0] + parts[1] + parts[2] + parts[3] + parts[4] +
                  std::string("\x32\x02\xC0\x80", 4)) /* overlong NUL */,
      join(6, std::string("\x38\x01", 2)) /* unknown field 7 */,
      join(6, std::string("\x35\x00\x00\x00\x00", 5)) /* memo with a 32-bit wire type */,
      join(6, std::string("\x3B\x3C", 2)) /* an empty group, field 7 */,
      join(1, std::string("\x0A\x01\x78", 3)) /* chain_id twice */,
  };
  for (const std::string& b : edges) {
    compare(with_body(b));
    compare(b);  // and the body as an envelope, where all of it is out of place
  }
  // Both kinds occur: the mutations reach acceptance as well as every refusal.
  CHECK(accepted > 100);
  CHECK(checked - accepted > 10000);
}

TEST_CASE("every ledger code has a stable name") {
  for (uint32_t c = 0; c <= 14; ++c) CHECK(TxCodeName(static_cast<TxCode>(c)) != "unknown");
  CHECK(TxCodeName(TxCode::kNonceUsed) == "nonce_used");
}
