// The keystore: secret keys in files encrypted with a passphrase.
//
// File format (JSON, one object, so that a person can see what it is):
//   {"version":1,"kdf":"scrypt","n":N,"r":R,"p":P,"salt":HEX16,
//    "cipher":"aes-256-gcm","nonce":HEX12,"ciphertext":HEX32,"tag":HEX16,
//    "public_key":HEX32,"address":"prb1..."}
// The AES key is scrypt(passphrase, salt, N, r, p) (32 bytes); the authenticated data is the
// public key, so a file whose public key was edited fails to open. The file is written to a
// temporary name, synced, given mode 0600 and renamed over the target, so a crash leaves the
// old file or the new one, never a torn one. An existing file is never overwritten unless the
// caller asks.
#pragma once

#include <cstdint>
#include <string>

#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity {

struct ScryptParams {
  uint64_t n = 1u << 15;  // ~100 ms and 32 MiB on a current core
  uint32_t r = 8;
  uint32_t p = 1;
};

// Writes `key` encrypted under `passphrase` to `path`. kAlreadyExists if `path` exists and
// !overwrite; kIOError naming the path if it cannot be written.
Status WriteKeyFile(const std::string& path, const SecretKey& key, std::string_view passphrase,
                    const ScryptParams& params = {}, bool overwrite = false);

// kUnauthenticated "wrong passphrase or tampered key file" when decryption fails;
// kCorruption for a file that is not a key file; kNotFound / kIOError when it can't be read.
Result<SecretKey> ReadKeyFile(const std::string& path, std::string_view passphrase);

// The public key stored in the file, read without the passphrase (for `keys list`).
Result<XOnlyPubKey> ReadKeyFilePublicKey(const std::string& path);

}  // namespace probity
