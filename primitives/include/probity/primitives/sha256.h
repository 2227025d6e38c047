// SHA-256 and BIP-340 tagged hashes.
//
// Built on OpenSSL's EVP interface when OpenSSL is present (it uses the SHA-NI instructions
// where the CPU has them); otherwise on a portable implementation of FIPS 180-4 compiled in
// the same library, so that `workloads/` can be built on a machine that has only CUDA, CMake
// and ninja. Both produce the same digests; a test checks them against each other.
//
// Tagged hash (BIP-340): tagged_hash(tag, m) = SHA-256(SHA-256(tag) || SHA-256(tag) || m).
// Every hash that Probity signs or commits to is tagged with a "probity/..." tag, so that a
// digest of one kind can never be mistaken for a digest of another.
#pragma once

#include <cstddef>
#include <string_view>

#include "probity/primitives/bytes.h"

namespace probity {

Hash256 Sha256(ByteView data);
inline Hash256 Sha256(std::string_view s) { return Sha256(AsBytes(s)); }

// Streaming SHA-256. Not thread-safe; one hasher per thread. The state lives inline (no
// allocation), so copying a hasher — e.g. a tagged-hash midstate — is a plain copy of about
// a hundred bytes: state trees hash millions of short messages under a few tags.
class Sha256Hasher {
 public:
  Sha256Hasher();

  Sha256Hasher& Update(ByteView data);
  Sha256Hasher& Update(std::string_view s) { return Update(AsBytes(s)); }
  // Finishes and resets the hasher to the empty state.
  Hash256 Final();

 private:
  // OpenSSL's SHA256_CTX or the portable state, whichever this build uses (sha256.cc checks
  // that it fits).
  alignas(8) unsigned char state_[128];
};

// A hasher already fed SHA-256(tag) || SHA-256(tag). Copy it to hash many messages under one
// tag without recomputing the prefix.
Sha256Hasher TaggedHasher(std::string_view tag);
Hash256 TaggedHash(std::string_view tag, ByteView msg);

// Which implementation this build uses: "openssl" or "portable".
std::string_view Sha256Backend();

// The portable implementation, exposed so that tests can compare it with OpenSSL's.
Hash256 Sha256Portable(ByteView data);

}  // namespace probity
