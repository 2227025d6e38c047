#include "probity/primitives/keystore.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace probity;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/probity-keystore-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};
const ScryptParams kFast{1u << 10, 8, 1};  // tests only: cheap KDF
std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
}  // namespace

TEST_CASE("keystore: write, read back, mode 0600, no overwrite") {
  TempDir d;
  auto key = SecretKey::Generate().value();
  std::string path = (d.path / "alice.key").string();
  REQUIRE(WriteKeyFile(path, key, "correct horse", kFast).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = ReadKeyFile(path, "correct horse");
  REQUIRE(back.ok());
  CHECK(back->PublicKey() == key.PublicKey());
  CHECK(back->SecretBytes() == key.SecretBytes());
  CHECK(ReadKeyFilePublicKey(path).value() == key.PublicKey());
  // The secret never appears in the file.
  CHECK(Slurp(path).find("version") != std::string::npos);

  std::string before = Slurp(path);
  auto other = SecretKey::Generate().value();
  CHECK(WriteKeyFile(path, other, "x", kFast).code() == Code::kAlreadyExists);
  CHECK(Slurp(path) == before);  // nothing overwritten
  REQUIRE(WriteKeyFile(path, other, "x", kFast, /*overwrite=*/true).ok());
  CHECK(ReadKeyFile(path, "x")->PublicKey() == other.PublicKey());
  // No temporary files left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(d.path)) files += e.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE("keystore: wrong passphrase, tampering and garbage give clear errors") {
  TempDir d;
  auto key = SecretKey::Generate().value();
  std::string path = (d.path / "k.key").string();
  REQUIRE(WriteKeyFile(path, key, "pw", kFast).ok());
  auto wrong = ReadKeyFile(path, "pW");
  CHECK(wrong.status().code() == Code::kUnauthenticated);
  CHECK(wrong.status().message().find("wrong passphrase") != std::string::npos);

  std::string text = Slurp(path);
  // Flip one hex digit in each protected field in turn.
  for (std::string field :
       {"\"ciphertext\":\"", "\"tag\":\"", "\"nonce\":\"", "\"salt\":\"", "\"public_key\":\""}) {
    std::string t = text;
    size_t at = t.find(field) + field.size();
    t[at] = t[at] == '0' ? '1' : '0';
    std::string p2 = (d.path / "tampered.key").string();
    std::ofstream(p2) << t;
    CAPTURE(field);
    auto r = ReadKeyFile(p2, "pw");
    CHECK_FALSE(r.ok());
    fs::remove(p2);
  }
  for (std::string junk : {std::string(""), std::string("{}"), std::string("not json"),
                           std::string("{\"version\":1}"), text.substr(0, text.size() / 2)}) {
    std::string p3 = (d.path / "junk.key").string();
    std::ofstream(p3) << junk;
    auto r = ReadKeyFile(p3, "pw");
    CHECK(r.status().code() == Code::kCorruption);
    fs::remove(p3);
  }
  CHECK(ReadKeyFile((d.path / "missing.key").string(), "pw").status().code() == Code::kNotFound);
  // Hostile scrypt parameters are refused before any work is done.
  std::string huge = text;
  size_t at = huge.find("\"n\":");
  huge.replace(at, huge.find(',', at) - at, "\"n\":4294967296");
  std::string p4 = (d.path / "huge.key").string();
  std::ofstream(p4) << huge;
  CHECK(ReadKeyFile(p4, "pw").status().code() == Code::kCorruption);
}
