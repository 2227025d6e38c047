// Transactions: decoding, ids, signature checks and the ledger's rejection codes.
//
// Wire form (proto/probity/types/v1/tx.proto): SignedTx { body, signature }, where `body` is a
// serialised TxBody and `signature` is BIP-340 by TxBody.signer over
// tagged_hash("probity/tx", body) on the exact bytes carried. Tx id = SHA-256(SignedTx bytes).
//
// Both encodings must be canonical: a SignedTx or TxBody whose bytes differ from the
// deterministic re-serialisation of what they parse to (fields out of order, repeated,
// unknown, default values written out) is rejected. Without that rule anyone relaying a
// transaction could re-encode the (unsigned) SignedTx envelope and give one signed body
// many tx ids.
//
// Nonces: an account's first transaction has nonce 1 and each next one exactly the previous
// plus one. A nonce at or below the last used one is a replay (kNonceUsed); one above the
// next expected is out of order (kNonceGap) and is rejected, not held: clients submit an
// account's transactions in order. Gaps are impossible, so "nonce n committed" means all of
// 1..n are.
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity::ledger {

inline constexpr std::string_view kTxSignatureTag = "probity/tx";
inline constexpr size_t kMaxMemoBytes = 256;
inline constexpr std::string_view kLedgerCodespace = "ledger";

// Why the ledger refused a transaction (codespace "ledger"). The numbers are part of the API:
// clients branch on them. Module failures use the module's name as codespace instead, with a
// probity::Code number (status.h).
enum class TxCode : uint32_t {
  kOk = 0,
  kMalformed = 1,        // not a canonical SignedTx / TxBody, or a field of the wrong size
  kTooLarge = 2,         // larger than the chain's max_tx_bytes
  kBadSignature = 3,     // the signature does not verify for the signer and body
  kWrongChain = 4,       // chain_id is another chain's
  kNonceUsed = 5,        // replay: nonce already used by this account
  kNonceGap = 6,         // out of order: nonce beyond the next expected one
  kFeeTooLow = 7,        // fee below the chain's min_fee
  kInsufficientFee = 8,  // the signer's balance cannot pay the fee (with its pending ones)
  kUnknownMessage = 9,   // no module handles the message's type_url
  kInvalidMessage = 10,  // the message fails its module's checks
  kMempoolFull = 11,     // the mempool is full of better-paying transactions
  kDuplicate = 12,       // already in the mempool
  kSenderLimit = 13,     // too many pending transactions from this signer
  kNotAccepting = 14,    // this node does not take transactions (a follower, or halted)
};
std::string_view TxCodeName(TxCode code);

// The outcome of a check: code 0 or a code, its codespace and a reason for people.
struct TxVerdict {
  uint32_t code = 0;
  std::string codespace;
  std::string log;

  bool ok() const { return code == 0; }
  static TxVerdict Ok() { return {}; }
  static TxVerdict Ledger(TxCode c, std::string log) {
    return {static_cast<uint32_t>(c), std::string(kLedgerCodespace), std::move(log)};
  }
};

// A transaction parsed from its wire form; the signature is not checked yet.
struct DecodedTx {
  Hash256 id{};       // SHA-256 of the SignedTx bytes
  Hash256 sighash{};  // tagged_hash("probity/tx", body)
  SchnorrSig signature{};
  std::string chain_id;
  XOnlyPubKey signer{};
  uint64_t nonce = 0;
  uint64_t fee = 0;
  std::string msg_type_url;
  Bytes msg_value;
  std::string memo;
  size_t size = 0;  // bytes of the SignedTx
};

// Parses and checks the shape of a transaction (canonical encodings, 32-byte signer, 64-byte
// signature, one message, memo length, size <= max_bytes). Never checks the signature.
// On failure returns kMalformed or kTooLarge in `verdict` and leaves `out` unspecified.
TxVerdict DecodeTx(ByteView signed_tx, size_t max_bytes, DecodedTx* out);

// True iff tx.signature is a valid BIP-340 signature of tx.sighash by tx.signer.
bool VerifyTxSignature(const DecodedTx& tx);

Hash256 TxId(ByteView signed_tx);

// Builds a canonical SignedTx: serialises the body, signs tagged_hash("probity/tx", body).
struct TxFields {
  std::string chain_id;
  uint64_t nonce = 0;
  uint64_t fee = 0;
  std::string msg_type_url;
  Bytes msg_value;
  std::string memo;
  // BIP-340 auxiliary randomness; fresh from the OS CSPRNG when empty. Fixed only where the
  // same transactions must come out of every run (a seeded simulation).
  std::optional<std::array<uint8_t, 32>> aux_rand;
};
Result<Bytes> BuildSignedTx(const SecretKey& signer, const TxFields& fields);

}  // namespace probity::ledger
