#include "probity/ledger/tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace probity::ledger {
namespace {

// PEM files this large are not certificates or keys; refusing them bounds what we read.
constexpr uintmax_t kMaxPemBytes = 1 << 20;

// Wipes a buffer that held a private key once it is no longer needed.
struct Wiped {
  std::string text;
  ~Wiped() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

Status ReadPemFile(const std::string& path, const std::string& what, std::string* out) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::InvalidArgument("cannot read the TLS " + what + " file " + path + " (" +
                                     ec.message() + ")");
    }
    return Status::NotFound("the TLS " + what + " file " + path + " does not exist");
  }
  if (!std::filesystem::is_regular_file(st)) {
    return Status::InvalidArgument("the TLS " + what + " file " + path + " is not a file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxPemBytes) {
    return Status::InvalidArgument("the TLS " + what + " file " + path + " is " +
                                   (ec ? "unreadable" : "too large for a PEM file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("cannot read the TLS " + what + " file " + path + " (" +
                                   std::strerror(errno) + ")");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return Status::InvalidArgument("cannot read the TLS " + what + " file " + path);
  }
  *out = ss.str();
  return Status::OK();
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

BioPtr MemBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Never prompts: an encrypted key fails to load instead of blocking on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The certificates in `pem`, leaf first; kInvalidArgument when there are none.
Result<std::vector<X509Ptr>> ParseCertificates(const std::string& pem, const std::string& path,
                                               const std::string& what) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(pem);
  while (bio) {
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr));
    if (!x) break;
    certs.push_back(std::move(x));
  }
  ERR_clear_error();  // the read that ended the loop left an error behind
  if (certs.empty()) {
    return Status::InvalidArgument("the TLS " + what + " file " + path +
                                   " holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
  }
  return certs;
}

Result<PkeyPtr> ParsePrivateKey(const std::string& pem, const std::string& path) {
  BioPtr bio = MemBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  ERR_clear_error();
  if (key) return key;
  if (pem.find("ENCRYPTED") != std::string::npos) {
    return Status::InvalidArgument("the TLS key file " + path +
                                   " is encrypted; give the server an unencrypted key file "
                                   "readable only by its user");
  }
  return Status::InvalidArgument("the TLS key file " + path + " holds no PEM private key");
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsServerFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  if (files.cert_file.empty() || files.key_file.empty()) {
    return Status::InvalidArgument("TLS needs both a certificate file and a key file (only the " +
                                   std::string(files.cert_file.empty() ? "key" : "certificate") +
                                   " file is set)");
  }
  std::string cert_pem;
  Wiped key_pem;
  PROBITY_RETURN_IF_ERROR(ReadPemFile(files.cert_file, "certificate", &cert_pem));
  PROBITY_RETURN_IF_ERROR(ReadPemFile(files.key_file, "key", &key_pem.text));
  PROBITY_ASSIGN_OR_RETURN(auto certs, ParseCertificates(cert_pem, files.cert_file, "certificate"));
  PROBITY_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_pem.text, files.key_file));
  int match = X509_check_private_key(certs.front().get(), key.get());
  ERR_clear_error();
  if (match != 1) {
    return Status::InvalidArgument("the TLS key in " + files.key_file +
                                   " does not belong to the certificate in " + files.cert_file);
  }
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({key_pem.text, cert_pem});
  return grpc::SslServerCredentials(options);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsClientOptions& options) {
  if (!options.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    PROBITY_RETURN_IF_ERROR(ReadPemFile(options.ca_file, "CA", &ssl.pem_root_certs));
    PROBITY_RETURN_IF_ERROR(ParseCertificates(ssl.pem_root_certs, options.ca_file, "CA").status());
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace probity::ledger
