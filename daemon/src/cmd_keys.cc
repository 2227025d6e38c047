// `probity keys new|list|show`, and `probity sign` / `probity verify` for messages.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "key_names.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keystore.h"
#include "probity/primitives/sha256.h"

namespace probity::cli {
namespace {

namespace fs = std::filesystem;

// Messages signed from the CLI are domain-separated from transactions and blocks, so a
// signature made with `probity sign` can never be replayed as a transaction.
constexpr std::string_view kMessageTag = "probity/message";

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return Status::OK();
}

void PrintKey(const Args& args, const std::string& name, const XOnlyPubKey& pub,
              const std::string& path) {
  if (args.json()) {
    std::cout << "{\"name\":" << JsonString(name)
              << ",\"address\":" << JsonString(EncodeAddress(pub))
              << ",\"public_key\":" << JsonString(ToHex(pub)) << ",\"file\":" << JsonString(path)
              << "}\n";
  } else {
    std::cout << "name:       " << name << "\naddress:    " << EncodeAddress(pub)
              << "\npublic key: " << ToHex(pub) << "\nfile:       " << path << "\n";
  }
}

int KeysNew(const Args& args) {
  if (auto s = args.CheckKnown({"home"}); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity keys new NAME"));
  }
  const std::string& name = args.positional()[0];
  if (auto s = ValidateKeyName(name); !s.ok()) return Fail(args, s);
  std::string home = HomeDir(args);
  std::string path = KeyPath(home, name);
  if (fs::exists(path)) {
    return Fail(args, Status::AlreadyExists("a key named '" + name + "' already exists at " + path +
                                            "; nothing was changed"));
  }
  auto pass = ReadPassphrase("Passphrase for the new key '" + name + "': ", true);
  if (!pass.ok()) return Fail(args, pass.status());
  if (pass->empty()) {
    return Fail(args, Status::InvalidArgument("refusing an empty passphrase"));
  }
  if (auto s = EnsureDir(KeysDir(home)); !s.ok()) return Fail(args, s);
  auto key = SecretKey::Generate();
  if (!key.ok()) return Fail(args, key.status());
  Status w = WriteKeyFile(path, *key, *pass);
  SecureWipe(pass->data(), pass->size());
  if (!w.ok()) return Fail(args, w);
  PrintKey(args, name, key->PublicKey(), path);
  return 0;
}

int KeysList(const Args& args) {
  if (auto s = args.CheckKnown({"home"}); !s.ok()) return Fail(args, s);
  std::string dir = KeysDir(HomeDir(args));
  std::vector<std::pair<std::string, std::string>> rows;  // name, address or error
  std::vector<std::string> names;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".key") names.push_back(e.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  if (args.json()) std::cout << "[";
  bool first = true;
  for (const auto& n : names) {
    auto pub = ReadKeyFilePublicKey(KeyPath(HomeDir(args), n));
    if (args.json()) {
      std::cout << (first ? "" : ",") << "{\"name\":" << JsonString(n);
      if (pub.ok()) {
        std::cout << ",\"address\":" << JsonString(EncodeAddress(*pub))
                  << ",\"public_key\":" << JsonString(ToHex(*pub)) << "}";
      } else {
        std::cout << ",\"error\":" << JsonString(pub.status().message()) << "}";
      }
    } else {
      std::cout << n << std::string(n.size() < 16 ? 16 - n.size() : 1, ' ')
                << (pub.ok() ? EncodeAddress(*pub) : "unreadable: " + pub.status().message())
                << "\n";
    }
    first = false;
  }
  if (args.json()) std::cout << "]\n";
  if (!args.json() && names.empty()) std::cout << "no keys in " << dir << "\n";
  return 0;
}

int KeysShow(const Args& args) {
  if (auto s = args.CheckKnown({"home"}); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity keys show NAME"));
  }
  const std::string& name = args.positional()[0];
  if (auto s = ValidateKeyName(name); !s.ok()) return Fail(args, s);
  std::string path = KeyPath(HomeDir(args), name);
  auto pub = ReadKeyFilePublicKey(path);
  if (!pub.ok()) return Fail(args, pub.status());
  PrintKey(args, name, *pub, path);
  return 0;
}

Result<Bytes> MessageFrom(const Args& args) {
  bool has_text = args.Has("message"), has_hex = args.Has("hex");
  if (has_text == has_hex) {
    return Status::InvalidArgument("give exactly one of --message TEXT or --hex HEX");
  }
  if (has_text) return ToBytes(AsBytes(*args.Get("message")));
  return FromHex(*args.Get("hex"));
}

int Sign(const Args& args) {
  if (auto s = args.CheckKnown({"home", "message", "hex"}); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity sign NAME --message TEXT"));
  }
  auto msg = MessageFrom(args);
  if (!msg.ok()) return Fail(args, msg.status());
  auto key = LoadNamedKey(HomeDir(args), args.positional()[0]);
  if (!key.ok()) return Fail(args, key.status());
  auto sig = key->Sign(TaggedHash(kMessageTag, *msg));
  if (!sig.ok()) return Fail(args, sig.status());
  if (args.json()) {
    std::cout << "{\"address\":" << JsonString(EncodeAddress(key->PublicKey()))
              << ",\"signature\":" << JsonString(ToHex(*sig)) << "}\n";
  } else {
    std::cout << "address:   " << EncodeAddress(key->PublicKey()) << "\nsignature: " << ToHex(*sig)
              << "\n";
  }
  return 0;
}

int Verify(const Args& args) {
  if (auto s = args.CheckKnown({"message", "hex"}); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 2) {
    return Fail(args,
                Status::InvalidArgument("usage: probity verify ADDRESS SIGNATURE --message TEXT"));
  }
  auto pub = DecodeAddress(args.positional()[0]);
  if (!pub.ok()) return Fail(args, pub.status());
  auto sig = FromHex(args.positional()[1]);
  if (!sig.ok()) return Fail(args, sig.status().WithContext("signature"));
  if (sig->size() != 64) {
    return Fail(args, Status::InvalidArgument("signature must be 64 bytes (128 hex digits), got " +
                                              std::to_string(sig->size())));
  }
  auto msg = MessageFrom(args);
  if (!msg.ok()) return Fail(args, msg.status());
  bool valid = VerifySchnorr(*pub, TaggedHash(kMessageTag, *msg), ByteView(*sig));
  if (args.json()) {
    std::cout << "{\"valid\":" << (valid ? "true" : "false") << "}\n";
  } else {
    std::cout << (valid ? "valid signature\n" : "INVALID signature\n");
  }
  return valid ? 0 : 1;
}

}  // namespace

PROBITY_COMMAND({.path = "keys new",
                 .usage = "probity keys new NAME [--home DIR] [--json]",
                 .summary = "create a key, encrypted with a passphrase (prompt or "
                            "PROBITY_PASSPHRASE)",
                 .run = KeysNew});
PROBITY_COMMAND({.path = "keys list",
                 .usage = "probity keys list [--home DIR] [--json]",
                 .summary = "list the keys in the home directory with their addresses",
                 .run = KeysList});
PROBITY_COMMAND({.path = "keys show",
                 .usage = "probity keys show NAME [--home DIR] [--json]",
                 .summary = "show a key's address and public key (no passphrase needed)",
                 .run = KeysShow});
PROBITY_COMMAND({.path = "sign",
                 .usage = "probity sign NAME (--message TEXT | --hex HEX) [--home DIR] [--json]",
                 .summary = "sign a message (BIP-340 over tagged_hash(\"probity/message\", m))",
                 .run = Sign});
PROBITY_COMMAND({.path = "verify",
                 .usage = "probity verify ADDRESS SIGNATURE (--message TEXT | --hex HEX) [--json]",
                 .summary = "verify a message signature; exit status 0 only when valid",
                 .run = Verify});

}  // namespace probity::cli
