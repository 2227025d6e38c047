#include "probity/primitives/keys.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

namespace probity {
namespace {

// One context for the whole process, randomised once against side channels. libsecp256k1
// contexts are safe for concurrent use by functions that take a const context.
const secp256k1_context* Ctx() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (c == nullptr) std::abort();
    uint8_t seed[32];
    if (RandomBytes(seed, sizeof(seed)).ok()) {
      if (!secp256k1_context_randomize(c, seed)) std::abort();
    }
    SecureWipe(seed, sizeof(seed));
    return c;
  }();
  return ctx;
}

}  // namespace

Status RandomBytes(uint8_t* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = getrandom(out + done, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Result<SecretKey> SecretKey::Generate() {
  // A uniformly random 32-byte string is a valid scalar except with probability ~2^-128;
  // loop rather than bias.
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::array<uint8_t, 32> buf;
    PROBITY_RETURN_IF_ERROR(RandomBytes(buf.data(), buf.size()));
    Result<SecretKey> k = FromBytes(buf);
    SecureWipe(buf.data(), buf.size());
    if (k.ok()) return k;
  }
  return Status::Internal("could not draw a valid secret key");
}

Result<SecretKey> SecretKey::FromBytes(ByteView bytes) {
  if (bytes.size() != 32) {
    return Status::InvalidArgument("secret key must be 32 bytes, got " +
                                   std::to_string(bytes.size()));
  }
  SecretKey k;
  std::memcpy(k.sec_.data(), bytes.data(), 32);
  secp256k1_keypair kp;
  if (!secp256k1_keypair_create(Ctx(), &kp, k.sec_.data())) {
    return Status::InvalidArgument("secret key is not a valid secp256k1 scalar");
  }
  secp256k1_xonly_pubkey xpk;
  if (!secp256k1_keypair_xonly_pub(Ctx(), &xpk, nullptr, &kp) ||
      !secp256k1_xonly_pubkey_serialize(Ctx(), k.pub_.data(), &xpk)) {
    SecureWipe(&kp, sizeof(kp));
    return Status::Internal("could not derive the public key");
  }
  std::memcpy(k.keypair_.data(), kp.data, sizeof(kp.data));
  SecureWipe(&kp, sizeof(kp));
  return k;
}

static_assert(sizeof(secp256k1_keypair::data) == 96, "SecretKey::keypair_ holds one keypair");

void SecretKey::Wipe() {
  SecureWipe(sec_.data(), sec_.size());
  SecureWipe(keypair_.data(), keypair_.size());
}

SecretKey::SecretKey(SecretKey&& o) noexcept : sec_(o.sec_), pub_(o.pub_), keypair_(o.keypair_) {
  o.Wipe();
}
SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  if (this != &o) {
    sec_ = o.sec_;
    pub_ = o.pub_;
    keypair_ = o.keypair_;
    o.Wipe();
  }
  return *this;
}
SecretKey::~SecretKey() { Wipe(); }

Result<SchnorrSig> SecretKey::Sign(ByteView msg) const {
  std::array<uint8_t, 32> aux;
  PROBITY_RETURN_IF_ERROR(RandomBytes(aux.data(), aux.size()));
  return SignWithAux(msg, aux);
}

Result<SchnorrSig> SecretKey::SignWithAux(ByteView msg,
                                          const std::array<uint8_t, 32>& aux_rand) const {
  secp256k1_keypair kp;
  std::memcpy(kp.data, keypair_.data(), sizeof(kp.data));
  secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  extra.ndata = const_cast<uint8_t*>(aux_rand.data());
  SchnorrSig sig;
  int ok = secp256k1_schnorrsig_sign_custom(Ctx(), sig.data(), msg.data(), msg.size(), &kp, &extra);
  SecureWipe(&kp, sizeof(kp));
  if (!ok) return Status::Internal("schnorr signing failed");
  return sig;
}

Status ValidateXOnlyPubKey(const XOnlyPubKey& key) {
  secp256k1_xonly_pubkey xpk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &xpk, key.data())) {
    return Status::InvalidArgument("public key is not a point on secp256k1");
  }
  return Status::OK();
}

bool VerifySchnorr(const XOnlyPubKey& key, ByteView msg, const SchnorrSig& sig) {
  secp256k1_xonly_pubkey xpk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &xpk, key.data())) return false;
  return secp256k1_schnorrsig_verify(Ctx(), sig.data(), msg.data(), msg.size(), &xpk) == 1;
}

bool VerifySchnorr(const XOnlyPubKey& key, ByteView msg, ByteView sig) {
  if (sig.size() != 64) return false;
  SchnorrSig s;
  std::memcpy(s.data(), sig.data(), 64);
  return VerifySchnorr(key, msg, s);
}

bool VerifySchnorrBare(const uint8_t* key32, const uint8_t* msg, size_t msg_len,
                       const uint8_t* sig64) {
  secp256k1_xonly_pubkey xpk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &xpk, key32)) return false;
  return secp256k1_schnorrsig_verify(Ctx(), sig64, msg, msg_len, &xpk) == 1;
}

}  // namespace probity
