#include "probity/primitives/sha256.h"

#include <cstdlib>

#include "sha256_portable.h"

#if PROBITY_SHA256_OPENSSL
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif

namespace probity {

#if PROBITY_SHA256_OPENSSL
// The low-level SHA256_CTX (deprecated in OpenSSL 3 in favour of EVP, but supported and the
// same SHA-NI code underneath) is a plain struct: no allocation, no provider dispatch, and a
// midstate is copied with memcpy. EVP costs about 15% more per short message and a heap
// allocation per copied context.
using State = SHA256_CTX;
static_assert(sizeof(State) <= 128 && alignof(State) <= 8);
static State* S(unsigned char* p) { return reinterpret_cast<State*>(p); }

Sha256Hasher::Sha256Hasher() { SHA256_Init(S(state_)); }
Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  SHA256_Update(S(state_), data.data(), data.size());
  return *this;
}
Hash256 Sha256Hasher::Final() {
  Hash256 out;
  SHA256_Final(out.data(), S(state_));
  SHA256_Init(S(state_));
  return out;
}
// Not the one-shot ::SHA256(): in OpenSSL 3 it goes through EVP_Q_digest, which fetches the
// algorithm from the provider store under a global read lock on every call; that tripled the
// cost of a 128-byte hash (370 ns against 120 ns) and made threads hashing at once contend.
Hash256 Sha256(ByteView data) {
  State s;
  SHA256_Init(&s);
  SHA256_Update(&s, data.data(), data.size());
  Hash256 out;
  SHA256_Final(out.data(), &s);
  return out;
}
std::string_view Sha256Backend() { return "openssl"; }
#else
using State = internal::Sha256State;
static_assert(sizeof(State) <= 128 && alignof(State) <= 8);
static State* S(unsigned char* p) { return reinterpret_cast<State*>(p); }

Sha256Hasher::Sha256Hasher() { internal::Sha256Init(S(state_)); }
Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  internal::Sha256Update(S(state_), data.data(), data.size());
  return *this;
}
Hash256 Sha256Hasher::Final() {
  Hash256 out;
  internal::Sha256Final(S(state_), out.data());
  return out;
}
Hash256 Sha256(ByteView data) { return Sha256Portable(data); }
std::string_view Sha256Backend() { return "portable"; }
#endif

Sha256Hasher TaggedHasher(std::string_view tag) {
  Hash256 t = Sha256(AsBytes(tag));
  Sha256Hasher h;
  h.Update(t).Update(t);
  return h;
}

Hash256 TaggedHash(std::string_view tag, ByteView msg) {
  // The midstate after SHA-256(tag) || SHA-256(tag) (exactly one block) is computed once per
  // tag per thread and copied; tags are few and fixed.
  thread_local std::string last_tag;
  thread_local Sha256Hasher midstate;
  if (tag != last_tag) {
    midstate = TaggedHasher(tag);
    last_tag.assign(tag);
  }
  Sha256Hasher h = midstate;
  h.Update(msg);
  return h.Final();
}

}  // namespace probity
