// Where the CLI keeps named keys: HOME/keys/NAME.key (primitives/keystore.h format).
#pragma once

#include <string>

#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity::cli {

// kInvalidArgument unless NAME is 1..64 of [A-Za-z0-9._-] and does not start with '.'.
Status ValidateKeyName(const std::string& name);
std::string KeysDir(const std::string& home);
std::string KeyPath(const std::string& home, const std::string& name);

// Reads and decrypts the named key, asking for the passphrase (PROBITY_PASSPHRASE or prompt).
Result<SecretKey> LoadNamedKey(const std::string& home, const std::string& name);

}  // namespace probity::cli
