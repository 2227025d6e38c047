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

// One-pass decoding of SignedTx, TxBody and Msg straight from the wire, without building
// protobuf messages or re-serialising them to check the encoding (which was a third of the
// cost of admitting a transfer, after its signature). The canonical encoding is what
// SerializeCanonical writes for these proto3 messages: every field at most once, in field
// order, with its declared wire type, no zero or empty scalar (proto3 leaves them out; an
// embedded message may be empty), no unknown field, minimal varints. Input that protobuf
// itself would refuse (truncated, a bad wire type or tag, invalid UTF-8 in a string field) is
// kGarbage; input that it would accept but encode differently is kNonCanonical. tx_test
// checks both against protobuf's parser on mutated transactions.
enum class Wire { kOk, kGarbage, kNonCanonical };

struct FieldSpec {
  uint32_t number;
  uint8_t wire_type;  // 0: varint, 2: length-delimited
  bool utf8;          // a proto3 string: must be valid UTF-8
  bool message;       // an embedded message: may be empty
};
constexpr FieldSpec kSignedTxFields[] = {{1, 2, false, false}, {2, 2, false, false}};
constexpr FieldSpec kTxBodyFields[] = {{1, 2, true, false},  {2, 2, false, false},
                                       {3, 0, false, false}, {4, 0, false, false},
                                       {5, 2, false, true},  {6, 2, true, false}};
constexpr FieldSpec kMsgFields[] = {{1, 2, true, false}, {2, 2, false, false}};

// Reads a varint at *p; false if it is truncated or longer than 10 bytes. `*minimal` is false
// for an encoding with needless trailing zero groups, which protobuf never writes.
bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* v, bool* minimal) {
  uint64_t r = 0;
  for (int i = 0; i < 10; ++i) {
    if (*p == end) return false;
    const uint8_t b = *(*p)++;
    r |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      *minimal = i == 0 || b != 0;
      *v = r;
      return true;
    }
  }
  return false;
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), as protobuf
// checks proto3 strings.
bool IsUtf8(ByteView s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Walks the fields of one message, calling on_field(number, varint value, payload) for each
// known field with its declared wire type; on_field returns what it found inside (an embedded
// message's verdict).
template <size_t N, typename OnField>
Wire WalkMessage(ByteView bytes, const FieldSpec (&fields)[N], OnField&& on_field) {
  const uint8_t* p = bytes.data();
  const uint8_t* const end = p + bytes.size();
  bool canonical = true;
  uint32_t last = 0;
  while (p != end) {
    uint64_t tag, value = 0;
    bool minimal;
    if (!ReadVarint(&p, end, &tag, &minimal) || tag > 0xFFFFFFFF) return Wire::kGarbage;
    canonical &= minimal;
    const uint32_t number = static_cast<uint32_t>(tag >> 3);
    const unsigned wire_type = tag & 7;
    if (number == 0) return Wire::kGarbage;
    ByteView payload;
    switch (wire_type) {
      case 0:
        if (!ReadVarint(&p, end, &value, &minimal)) return Wire::kGarbage;
        canonical &= minimal;
        break;
      case 1:
      case 5: {
        const size_t n = wire_type == 1 ? 8 : 4;
        if (static_cast<size_t>(end - p) < n) return Wire::kGarbage;
        p += n;
        break;
      }
      case 2: {
        uint64_t len;
        if (!ReadVarint(&p, end, &len, &minimal)) return Wire::kGarbage;
        canonical &= minimal;
        if (len > static_cast<uint64_t>(end - p)) return Wire::kGarbage;
        payload = ByteView(p, static_cast<size_t>(len));
        p += len;
        break;
      }
      default:
        return Wire::kGarbage;  // groups (never in these messages) and invalid wire types
    }
    const FieldSpec* f = nullptr;
    for (const FieldSpec& s : fields) {
      if (s.number == number) f = &s;
    }
    if (f == nullptr || f->wire_type != wire_type) {
      canonical = false;  // an unknown field: protobuf keeps it aside
      continue;
    }
    if (f->utf8 && !IsUtf8(payload)) return Wire::kGarbage;
    if (number <= last) canonical = false;  // repeated or out of order
    last = number;
    if (wire_type == 0 ? value == 0 : (payload.empty() && !f->message)) canonical = false;
    const Wire inner = on_field(number, value, payload);
    if (inner == Wire::kGarbage) return inner;
    if (inner == Wire::kNonCanonical) canonical = false;
  }
  return canonical ? Wire::kOk : Wire::kNonCanonical;
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
  ByteView body_bytes, signature;
  Wire w = WalkMessage(bytes, kSignedTxFields, [&](uint32_t field, uint64_t, ByteView payload) {
    (field == 1 ? body_bytes : signature) = payload;
    return Wire::kOk;
  });
  if (w == Wire::kGarbage) return Malformed("not a SignedTx protobuf (garbage or truncated bytes)");
  if (w == Wire::kNonCanonical) {
    return Malformed("SignedTx is not canonically encoded (unknown, repeated or reordered fields)");
  }
  if (signature.size() != 64) {
    return Malformed("signature must be 64 bytes, got " + std::to_string(signature.size()));
  }
  std::string_view chain_id, type_url, memo;
  ByteView signer, msg_value;
  uint64_t nonce = 0, fee = 0;
  bool has_msg = false;
  w = WalkMessage(body_bytes, kTxBodyFields, [&](uint32_t field, uint64_t v, ByteView payload) {
    switch (field) {
      case 1:
        chain_id = AsChars(payload);
        break;
      case 2:
        signer = payload;
        break;
      case 3:
        nonce = v;
        break;
      case 4:
        fee = v;
        break;
      case 5:
        has_msg = true;
        return WalkMessage(payload, kMsgFields, [&](uint32_t f, uint64_t, ByteView p) {
          if (f == 1) {
            type_url = AsChars(p);
          } else {
            msg_value = p;
          }
          return Wire::kOk;
        });
      default:
        memo = AsChars(payload);
        break;
    }
    return Wire::kOk;
  });
  if (w == Wire::kGarbage) return Malformed("body is not a TxBody protobuf");
  if (w == Wire::kNonCanonical) {
    return Malformed("TxBody is not canonically encoded (unknown, repeated or reordered fields)");
  }
  if (signer.size() != 32) {
    return Malformed("signer must be a 32-byte x-only key, got " + std::to_string(signer.size()) +
                     " bytes");
  }
  if (chain_id.empty()) return Malformed("chain_id is empty");
  if (nonce == 0) return Malformed("nonce must be at least 1");
  if (!has_msg || type_url.empty()) return Malformed("the transaction carries no message");
  if (memo.size() > kMaxMemoBytes) {
    return Malformed("memo is " + std::to_string(memo.size()) + " bytes; the limit is " +
                     std::to_string(kMaxMemoBytes));
  }
  out->id = TxId(bytes);
  static const Sha256Hasher kTagged = TaggedHasher(kTxSignatureTag);
  Sha256Hasher h = kTagged;
  out->sighash = h.Update(body_bytes).Final();
  std::memcpy(out->signature.data(), signature.data(), 64);
  out->chain_id.assign(chain_id);
  std::memcpy(out->signer.data(), signer.data(), 32);
  out->nonce = nonce;
  out->fee = fee;
  out->msg_type_url.assign(type_url);
  out->msg_value.assign(msg_value.begin(), msg_value.end());
  out->memo.assign(memo);
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
