// secp256k1 keys and BIP-340 Schnorr signatures, through libsecp256k1 (schnorrsig, extrakeys).
//
// Accounts are x-only public keys (32 bytes). Signatures are 64 bytes. Messages may be of any
// length (BIP-340 as amended for variable-length messages); Probity always signs a tagged hash,
// e.g. tagged_hash("probity/tx", body), so in practice messages are 32 bytes.
//
// Thread-safety: all functions may be called from any thread; they share one read-only,
// randomised context that is created on first use.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity {

using XOnlyPubKey = std::array<uint8_t, 32>;
using SchnorrSig = std::array<uint8_t, 64>;

// Fills `out` from the operating system's CSPRNG (getrandom). kIOError if it cannot.
Status RandomBytes(uint8_t* out, size_t size);

// A secret key. Its bytes are wiped when it is destroyed. Move-only.
class SecretKey {
 public:
  // A fresh key from the OS CSPRNG.
  static Result<SecretKey> Generate();
  // kInvalidArgument unless `bytes` is 32 bytes and a valid scalar (0 < k < n).
  static Result<SecretKey> FromBytes(ByteView bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const XOnlyPubKey& PublicKey() const { return pub_; }

  // BIP-340 signature of `msg` with 32 bytes of auxiliary randomness from the OS CSPRNG.
  Result<SchnorrSig> Sign(ByteView msg) const;
  // BIP-340 signature with caller-chosen auxiliary randomness (test vectors; deterministic
  // signing). `aux_rand` may be all zeros but should be fresh randomness.
  Result<SchnorrSig> SignWithAux(ByteView msg, const std::array<uint8_t, 32>& aux_rand) const;

  // The 32 secret bytes. Handle with care: never log them.
  const std::array<uint8_t, 32>& SecretBytes() const { return sec_; }

 private:
  SecretKey() = default;
  void Wipe();
  std::array<uint8_t, 32> sec_{};
  XOnlyPubKey pub_{};
  // libsecp256k1's keypair (secret and public key, 96 opaque bytes), made once: deriving it
  // costs as much as a signature, so re-deriving it per signature would double the cost.
  std::array<uint8_t, 96> keypair_{};
};

// kInvalidArgument unless the 32 bytes are the x coordinate of a point on the curve.
Status ValidateXOnlyPubKey(const XOnlyPubKey& key);

// True iff `sig` is a valid BIP-340 signature of `msg` under `key`. A key that is not on the
// curve gives false.
bool VerifySchnorr(const XOnlyPubKey& key, ByteView msg, const SchnorrSig& sig);

// Same as VerifySchnorr for a signature of unchecked length: anything other than 64 bytes is
// false.
bool VerifySchnorr(const XOnlyPubKey& key, ByteView msg, ByteView sig);

// The bare libsecp256k1 verification (parse key, verify) without our wrapper's checks, for
// the benchmark that measures the wrapper's overhead.
bool VerifySchnorrBare(const uint8_t* key32, const uint8_t* msg, size_t msg_len,
                       const uint8_t* sig64);

}  // namespace probity
