#include "probity/ledger/tx.h"

#include <cstring>

#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/sha256.h"
#include "probity/types/v1/tx.pb.h"

namespace probity::ledger {
namespace {

TxVerdict Malformed(std::string why) {
  return TxVerdict::Ledger(TxCode::kMalformed, std::move(why));
}

}  // namespace

std::string_view TxCodeName(TxCode code) {
  switch (code) {
    case TxCode::kOk:
      return "ok";
    case TxCode::kMalformed:
      return "malformed";
    case TxCode::kTooLarge:
      return "too_large";
    case TxCode::kBadSignature:
      return "bad_signature";
    case TxCode::kWrongChain:
      return "wrong_chain";
    case TxCode::kNonceUsed:
      return "nonce_used";
    case TxCode::kNonceGap:
      return "nonce_gap";
    case TxCode::kFeeTooLow:
      return "fee_too_low";
    case TxCode::kInsufficientFee:
      return "insufficient_fee";
    case TxCode::kUnknownMessage:
      return "unknown_message";
    case TxCode::kInvalidMessage:
      return "invalid_message";
    case TxCode::kMempoolFull:
      return "mempool_full";
    case TxCode::kDuplicate:
      return "duplicate";
    case TxCode::kSenderLimit:
      return "sender_limit";
    case TxCode::kNotAccepting:
      return "not_accepting";
  }
  return "unknown";
}

Hash256 TxId(ByteView signed_tx) { return Sha256(signed_tx); }

TxVerdict DecodeTx(ByteView bytes, size_t max_bytes, DecodedTx* out) {
  if (bytes.size() > max_bytes) {
    return TxVerdict::Ledger(TxCode::kTooLarge, "transaction is " + std::to_string(bytes.size()) +
                                                    " bytes; the limit is " +
                                                    std::to_string(max_bytes));
  }
  if (bytes.empty()) return Malformed("empty transaction");
  types::v1::SignedTx stx;
  if (!stx.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Malformed("not a SignedTx protobuf (garbage or truncated bytes)");
  }
  if (!IsCanonicalEncoding(stx, bytes)) {
    return Malformed("SignedTx is not canonically encoded (unknown, repeated or reordered fields)");
  }
  if (stx.signature().size() != 64) {
    return Malformed("signature must be 64 bytes, got " + std::to_string(stx.signature().size()));
  }
  const std::string& body_bytes = stx.body();
  types::v1::TxBody body;
  if (!body.ParseFromString(body_bytes)) return Malformed("body is not a TxBody protobuf");
  if (!IsCanonicalEncoding(body, AsBytes(body_bytes))) {
    return Malformed("TxBody is not canonically encoded (unknown, repeated or reordered fields)");
  }
  if (body.signer().size() != 32) {
    return Malformed("signer must be a 32-byte x-only key, got " +
                     std::to_string(body.signer().size()) + " bytes");
  }
  if (body.chain_id().empty()) return Malformed("chain_id is empty");
  if (body.nonce() == 0) return Malformed("nonce must be at least 1");
  if (!body.has_msg() || body.msg().type_url().empty()) {
    return Malformed("the transaction carries no message");
  }
  if (body.memo().size() > kMaxMemoBytes) {
    return Malformed("memo is " + std::to_string(body.memo().size()) + " bytes; the limit is " +
                     std::to_string(kMaxMemoBytes));
  }
  out->id = TxId(bytes);
  static const Sha256Hasher kTagged = TaggedHasher(kTxSignatureTag);
  Sha256Hasher h = kTagged;
  out->sighash = h.Update(AsBytes(body_bytes)).Final();
  std::memcpy(out->signature.data(), stx.signature().data(), 64);
  out->chain_id = body.chain_id();
  std::memcpy(out->signer.data(), body.signer().data(), 32);
  out->nonce = body.nonce();
  out->fee = body.fee();
  out->msg_type_url = body.msg().type_url();
  out->msg_value.assign(body.msg().value().begin(), body.msg().value().end());
  out->memo = body.memo();
  out->size = bytes.size();
  return TxVerdict::Ok();
}

bool VerifyTxSignature(const DecodedTx& tx) {
  return VerifySchnorr(tx.signer, tx.sighash, tx.signature);
}

Result<Bytes> BuildSignedTx(const SecretKey& signer, const TxFields& f) {
  types::v1::TxBody body;
  body.set_chain_id(f.chain_id);
  body.set_signer(signer.PublicKey().data(), 32);
  body.set_nonce(f.nonce);
  body.set_fee(f.fee);
  body.mutable_msg()->set_type_url(f.msg_type_url);
  body.mutable_msg()->set_value(f.msg_value.data(), f.msg_value.size());
  body.set_memo(f.memo);
  std::string body_bytes = SerializeCanonical(body);
  const Hash256 sighash = TaggedHash(kTxSignatureTag, AsBytes(body_bytes));
  PROBITY_ASSIGN_OR_RETURN(
      SchnorrSig sig, f.aux_rand ? signer.SignWithAux(sighash, *f.aux_rand) : signer.Sign(sighash));
  types::v1::SignedTx stx;
  stx.set_body(body_bytes);
  stx.set_signature(sig.data(), sig.size());
  return ToBytes(AsBytes(SerializeCanonical(stx)));
}

}  // namespace probity::ledger
