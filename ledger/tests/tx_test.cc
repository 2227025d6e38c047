// Transactions: decoding, canonical encodings, signatures, malformed input of every kind.
#include "probity/ledger/tx.h"

#include <doctest/doctest.h>

#include <google/protobuf/stubs/logging.h>

#include <random>

#include "probity/ledger/canonical_proto.h"
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

TEST_CASE("every ledger code has a stable name") {
  for (uint32_t c = 0; c <= 14; ++c) CHECK(TxCodeName(static_cast<TxCode>(c)) != "unknown");
  CHECK(TxCodeName(TxCode::kNonceUsed) == "nonce_used");
}
