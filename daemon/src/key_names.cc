#include "key_names.h"

#include "command.h"
#include "probity/primitives/keystore.h"

namespace probity::cli {

Status ValidateKeyName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') {
    return Status::InvalidArgument("key name must be 1 to 64 characters and not start with '.'");
  }
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) {
      return Status::InvalidArgument(std::string("key name may hold only letters, digits, "
                                                 "'-', '_' and '.', not '") +
                                     c + "'");
    }
  }
  return Status::OK();
}

std::string KeysDir(const std::string& home) { return home + "/keys"; }
std::string KeyPath(const std::string& home, const std::string& name) {
  return KeysDir(home) + "/" + name + ".key";
}

Result<SecretKey> LoadNamedKey(const std::string& home, const std::string& name) {
  PROBITY_RETURN_IF_ERROR(ValidateKeyName(name));
  std::string path = KeyPath(home, name);
  // Fail on a missing or corrupt file before asking for a passphrase.
  PROBITY_RETURN_IF_ERROR(ReadKeyFilePublicKey(path).status());
  PROBITY_ASSIGN_OR_RETURN(std::string pass,
                           ReadPassphrase("Passphrase for key '" + name + "': ", false));
  auto key = ReadKeyFile(path, pass);
  SecureWipe(pass.data(), pass.size());
  return key;
}

}  // namespace probity::cli
