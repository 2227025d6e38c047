#include "probity/primitives/sha256.h"

#include <cstdlib>

#include "sha256_portable.h"

#if PROBITY_SHA256_OPENSSL
#include <openssl/evp.h>
#endif

namespace probity {

#if PROBITY_SHA256_OPENSSL
namespace {
const EVP_MD* Md() {
  // Fetched once: EVP_MD_fetch is slow and the result is immutable and thread-safe.
  static const EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) std::abort();  // OpenSSL without SHA-256: unusable build
    return m;
  }();
  return md;
}
void CheckSsl(int ok) {
  if (ok != 1) std::abort();  // cannot fail for SHA-256 short of memory exhaustion
}
}  // namespace

struct Sha256Hasher::Impl {
  EVP_MD_CTX* ctx;
  Impl() : ctx(EVP_MD_CTX_new()) {
    if (ctx == nullptr) std::abort();
    CheckSsl(EVP_DigestInit_ex2(ctx, Md(), nullptr));
  }
  Impl(const Impl& o) : ctx(EVP_MD_CTX_new()) {
    if (ctx == nullptr) std::abort();
    CheckSsl(EVP_MD_CTX_copy_ex(ctx, o.ctx));
  }
  ~Impl() { EVP_MD_CTX_free(ctx); }
  void Update(ByteView d) { CheckSsl(EVP_DigestUpdate(ctx, d.data(), d.size())); }
  void Final(uint8_t* out) {
    unsigned int n = 0;
    CheckSsl(EVP_DigestFinal_ex(ctx, out, &n));
    CheckSsl(EVP_DigestInit_ex2(ctx, Md(), nullptr));
  }
};

Hash256 Sha256(ByteView data) {
  // One context per thread, reused: allocating a context per call costs more than hashing
  // a 64-byte Merkle node.
  thread_local Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Final();
}

std::string_view Sha256Backend() { return "openssl"; }
#else
struct Sha256Hasher::Impl {
  internal::Sha256State s;
  Impl() { internal::Sha256Init(&s); }
  void Update(ByteView d) { internal::Sha256Update(&s, d.data(), d.size()); }
  void Final(uint8_t* out) { internal::Sha256Final(&s, out); }
};

Hash256 Sha256(ByteView data) { return Sha256Portable(data); }

std::string_view Sha256Backend() { return "portable"; }
#endif

Sha256Hasher::Sha256Hasher() : impl_(std::make_unique<Impl>()) {}
Sha256Hasher::~Sha256Hasher() = default;
Sha256Hasher::Sha256Hasher(const Sha256Hasher& o) : impl_(std::make_unique<Impl>(*o.impl_)) {}
Sha256Hasher& Sha256Hasher::operator=(const Sha256Hasher& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  impl_->Update(data);
  return *this;
}
Hash256 Sha256Hasher::Final() {
  Hash256 out;
  impl_->Final(out.data());
  return out;
}

Sha256Hasher TaggedHasher(std::string_view tag) {
  Hash256 t = Sha256(AsBytes(tag));
  Sha256Hasher h;
  h.Update(t).Update(t);
  return h;
}

Hash256 TaggedHash(std::string_view tag, ByteView msg) {
  Sha256Hasher h = TaggedHasher(tag);
  h.Update(msg);
  return h.Final();
}

}  // namespace probity
