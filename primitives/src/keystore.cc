#include "probity/primitives/keystore.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"

namespace probity {
namespace {

constexpr size_t kSaltLen = 16;
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;
constexpr size_t kMaxFileSize = 4096;

// Wipes a buffer of secret bytes when it leaves scope.
struct Wiper {
  void* p;
  size_t n;
  ~Wiper() { SecureWipe(p, n); }
};

Status DeriveKey(std::string_view passphrase, ByteView salt, const ScryptParams& sp,
                 uint8_t out[32]) {
  // maxmem: scrypt needs 128*N*r*p bytes; allow twice that.
  uint64_t maxmem = 2 * 128 * sp.n * sp.r * sp.p + (1 << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(), salt.size(), sp.n, sp.r,
                     sp.p, maxmem, out, 32) != 1) {
    return Status::InvalidArgument("scrypt parameters rejected (n must be a power of two > 1)");
  }
  return Status::OK();
}

// A flat JSON object of string and unsigned integer values: the whole grammar a key file
// uses. Anything else is kCorruption.
Result<std::map<std::string, std::string>> ParseFlatJson(std::string_view s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto bad = [&](const char* what) {
    return Status::Corruption(std::string("key file is not valid: ") + what + " at offset " +
                              std::to_string(i));
  };
  auto str = [&](std::string* v) -> bool {
    if (i >= s.size() || s[i] != '"') return false;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' || static_cast<unsigned char>(s[i]) < 0x20) return false;
      *v += s[i++];
    }
    if (i >= s.size()) return false;
    ++i;
    return true;
  };
  ws();
  if (i >= s.size() || s[i] != '{') return bad("expected '{'");
  ++i;
  ws();
  if (i < s.size() && s[i] == '}') return bad("empty object");
  while (true) {
    ws();
    std::string k, v;
    if (!str(&k)) return bad("expected a string key");
    ws();
    if (i >= s.size() || s[i] != ':') return bad("expected ':'");
    ++i;
    ws();
    if (i < s.size() && s[i] == '"') {
      if (!str(&v)) return bad("bad string value");
    } else {
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) v += s[i++];
      if (v.empty() || v.size() > 19) return bad("expected a string or an unsigned number");
    }
    if (!out.emplace(k, v).second) return bad("duplicate key");
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      ++i;
      break;
    }
    return bad("expected ',' or '}'");
  }
  ws();
  if (i != s.size()) return bad("trailing characters");
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no key file at " + path);
    return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string data;
  char buf[1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::IOError("cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxFileSize) {
      ::close(fd);
      return Status::Corruption(path + " is too large to be a key file");
    }
  }
  ::close(fd);
  return data;
}

struct ParsedKeyFile {
  ScryptParams params;
  Bytes salt, nonce, ciphertext, tag;
  XOnlyPubKey pub;
};

Result<Bytes> HexField(const std::map<std::string, std::string>& m, const std::string& k,
                       size_t len) {
  auto it = m.find(k);
  if (it == m.end()) return Status::Corruption("key file lacks field '" + k + "'");
  auto b = FromHex(it->second);
  if (!b.ok() || b->size() != len) {
    return Status::Corruption("key file field '" + k + "' is not " + std::to_string(len) +
                              " bytes of hex");
  }
  return b;
}

Result<uint64_t> NumField(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return Status::Corruption("key file lacks field '" + k + "'");
  for (char c : it->second)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Status::Corruption("key file field '" + k + "' is not a number");
  return std::stoull(it->second);
}

Result<ParsedKeyFile> ParseKeyFile(const std::string& path) {
  PROBITY_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path));
  auto m = ParseFlatJson(text);
  if (!m.ok()) return m.status().WithContext(path);
  auto field = [&](const std::string& k) -> std::string {
    auto it = m->find(k);
    return it == m->end() ? "" : it->second;
  };
  if (field("version") != "1" || field("kdf") != "scrypt" || field("cipher") != "aes-256-gcm") {
    return Status::Corruption(path + " is not a version-1 probity key file");
  }
  ParsedKeyFile f;
  PROBITY_ASSIGN_OR_RETURN(f.params.n, NumField(*m, "n"));
  PROBITY_ASSIGN_OR_RETURN(uint64_t r, NumField(*m, "r"));
  PROBITY_ASSIGN_OR_RETURN(uint64_t p, NumField(*m, "p"));
  // Bounds keep a hostile file from asking for gigabytes of memory or hours of work.
  if (f.params.n < 2 || f.params.n > (1u << 20) || (f.params.n & (f.params.n - 1)) != 0 || r < 1 ||
      r > 32 || p < 1 || p > 16) {
    return Status::Corruption(path + ": scrypt parameters out of range");
  }
  f.params.r = static_cast<uint32_t>(r);
  f.params.p = static_cast<uint32_t>(p);
  PROBITY_ASSIGN_OR_RETURN(f.salt, HexField(*m, "salt", kSaltLen));
  PROBITY_ASSIGN_OR_RETURN(f.nonce, HexField(*m, "nonce", kNonceLen));
  PROBITY_ASSIGN_OR_RETURN(f.ciphertext, HexField(*m, "ciphertext", 32));
  PROBITY_ASSIGN_OR_RETURN(f.tag, HexField(*m, "tag", kTagLen));
  PROBITY_ASSIGN_OR_RETURN(Bytes pub, HexField(*m, "public_key", 32));
  std::copy(pub.begin(), pub.end(), f.pub.begin());
  return f;
}

Status WriteFileAtomic0600(const std::string& path, const std::string& data, bool overwrite) {
  if (!overwrite && ::access(path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(path + " already exists; refusing to overwrite it");
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("cannot write " + tmp + ": " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IOError("cannot sync " + tmp + ": " + std::strerror(e));
  }
  ::close(fd);
  if (!overwrite) {
    // link() fails if the target appeared meanwhile, so a racing writer never loses a key.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int e = errno;
      ::unlink(tmp.c_str());
      if (e == EEXIST) return Status::AlreadyExists(path + " already exists");
      return Status::IOError("cannot create " + path + ": " + std::strerror(e));
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot rename onto " + path + ": " + std::strerror(e));
  }
  // Sync the directory so that the new name survives a crash.
  std::string dir =
      path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

}  // namespace

Status WriteKeyFile(const std::string& path, const SecretKey& key, std::string_view passphrase,
                    const ScryptParams& params, bool overwrite) {
  uint8_t salt[kSaltLen], nonce[kNonceLen], aes_key[32], tag[kTagLen], ct[32];
  Wiper w{aes_key, sizeof(aes_key)};
  PROBITY_RETURN_IF_ERROR(RandomBytes(salt, sizeof(salt)));
  PROBITY_RETURN_IF_ERROR(RandomBytes(nonce, sizeof(nonce)));
  PROBITY_RETURN_IF_ERROR(DeriveKey(passphrase, ByteView(salt, kSaltLen), params, aes_key));

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  int len = 0, ok = 1;
  ok &= EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr);
  ok &= EVP_EncryptInit_ex(ctx, nullptr, nullptr, aes_key, nonce);
  ok &= EVP_EncryptUpdate(ctx, nullptr, &len, key.PublicKey().data(), 32);  // AAD
  ok &= EVP_EncryptUpdate(ctx, ct, &len, key.SecretBytes().data(), 32);
  ok &= EVP_EncryptFinal_ex(ctx, ct + len, &len);
  ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagLen, tag);
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return Status::Internal("AES-256-GCM encryption failed");

  std::ostringstream js;
  js << "{\"version\":1,\"kdf\":\"scrypt\",\"n\":" << params.n << ",\"r\":" << params.r
     << ",\"p\":" << params.p << ",\"salt\":\"" << ToHex(ByteView(salt, kSaltLen))
     << "\",\"cipher\":\"aes-256-gcm\",\"nonce\":\"" << ToHex(ByteView(nonce, kNonceLen))
     << "\",\"ciphertext\":\"" << ToHex(ByteView(ct, 32)) << "\",\"tag\":\""
     << ToHex(ByteView(tag, kTagLen)) << "\",\"public_key\":\"" << ToHex(key.PublicKey())
     << "\",\"address\":\"" << EncodeAddress(key.PublicKey()) << "\"}\n";
  return WriteFileAtomic0600(path, js.str(), overwrite);
}

Result<SecretKey> ReadKeyFile(const std::string& path, std::string_view passphrase) {
  PROBITY_ASSIGN_OR_RETURN(ParsedKeyFile f, ParseKeyFile(path));
  uint8_t aes_key[32], plain[32];
  Wiper w1{aes_key, sizeof(aes_key)}, w2{plain, sizeof(plain)};
  PROBITY_RETURN_IF_ERROR(DeriveKey(passphrase, f.salt, f.params, aes_key));

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  int len = 0, ok = 1;
  ok &= EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr);
  ok &= EVP_DecryptInit_ex(ctx, nullptr, nullptr, aes_key, f.nonce.data());
  ok &= EVP_DecryptUpdate(ctx, nullptr, &len, f.pub.data(), 32);
  ok &= EVP_DecryptUpdate(ctx, plain, &len, f.ciphertext.data(), 32);
  ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagLen, f.tag.data());
  int fin = ok ? EVP_DecryptFinal_ex(ctx, plain + len, &len) : 0;
  EVP_CIPHER_CTX_free(ctx);
  if (fin != 1) {
    return Status::Unauthenticated("wrong passphrase, or the key file " + path +
                                   " was tampered with");
  }
  PROBITY_ASSIGN_OR_RETURN(SecretKey key, SecretKey::FromBytes(ByteView(plain, 32)));
  if (key.PublicKey() != f.pub) {
    return Status::Corruption(path + ": stored public key does not match the secret key");
  }
  return key;
}

Result<XOnlyPubKey> ReadKeyFilePublicKey(const std::string& path) {
  PROBITY_ASSIGN_OR_RETURN(ParsedKeyFile f, ParseKeyFile(path));
  return f.pub;
}

}  // namespace probity
