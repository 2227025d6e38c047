// The `probity` executable run as a person would run it: keys, sign, verify, and every kind
// of bad input (malformed hex, bad bech32m, short signature, unreadable key file, wrong
// passphrase) giving a clear message, a non-zero exit status, and nothing overwritten.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kProbity = PROBITY_BINARY_DIR "/daemon/probity";

struct Run {
  int status;
  std::string out;  // stdout and stderr together
};

// Runs the command through the shell with the given environment prefix.
Run Exec(const std::string& cmd) {
  std::string full = cmd + " 2>&1 </dev/null";
  FILE* p = ::popen(full.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

struct Home {
  fs::path dir;
  Home() {
    char t[] = "/tmp/probity-cli-XXXXXX";
    dir = ::mkdtemp(t);
  }
  ~Home() { fs::remove_all(dir); }
  std::string P(const std::string& args, const std::string& pass = "pw") const {
    return "PROBITY_PASSPHRASE='" + pass + "' " + kProbity + " " + args + " --home " + dir.string();
  }
};

std::string Field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":\"");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return json.substr(at, json.find('"', at) - at);
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("cli: keys new, list, show, sign and verify") {
  Home h;
  Run made = Exec(h.P("keys new alice --json"));
  REQUIRE(made.status == 0);
  std::string addr = Field(made.out, "address");
  CHECK(addr.rfind("prb1", 0) == 0);
  CHECK((fs::status(h.dir / "keys" / "alice.key").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));

  Run list = Exec(h.P("keys list --json"));
  CHECK(list.status == 0);
  CHECK(list.out.find(addr) != std::string::npos);
  Run show = Exec(h.P("keys show alice"));
  CHECK(show.status == 0);
  CHECK(show.out.find(addr) != std::string::npos);

  Run sig = Exec(h.P("sign alice --message hi --json"));
  REQUIRE(sig.status == 0);
  std::string s = Field(sig.out, "signature");
  CHECK(s.size() == 128);
  CHECK(Exec(kProbity + " verify " + addr + " " + s + " --message hi").status == 0);
  Run forged = Exec(kProbity + " verify " + addr + " " + s + " --message ho --json");
  CHECK(forged.status != 0);
  CHECK(forged.out.find("\"valid\":false") != std::string::npos);
}

TEST_CASE("cli: bad input gives a clear error, a non-zero status, and changes nothing") {
  Home h;
  REQUIRE(Exec(h.P("keys new bob --json")).status == 0);
  fs::path file = h.dir / "keys" / "bob.key";
  std::string before = Slurp(file);
  std::string addr = Field(Exec(h.P("keys show bob --json")).out, "address");
  std::string sig = Field(Exec(h.P("sign bob --message m --json")).out, "signature");
  // The address with its last checksum character replaced by a different valid character.
  std::string bad_checksum = addr.substr(0, addr.size() - 1) + (addr.back() == 'q' ? "p" : "q");

  struct Case {
    std::string cmd, expect;
  } cases[] = {
      {h.P("keys new bob"), "already exists"},
      {h.P("keys new ../evil"), "key name"},
      {h.P("keys show nobody"), "no key file"},
      {h.P("sign bob --message m", "wrong"), "wrong passphrase"},
      {h.P("sign bob --hex 0g"), "hex"},
      {h.P("sign bob --hex abc"), "odd length"},
      {kProbity + " verify " + addr + " " + sig.substr(0, 126) + " --message m", "64 bytes"},
      {kProbity + " verify " + addr + " zz" + sig.substr(2) + " --message m", "hex"},
      {kProbity + " verify prb1qqqq " + sig + " --message m", "bech32m"},
      {kProbity + " verify " + bad_checksum + " " + sig + " --message m", "checksum"},
      {kProbity + " verify bc1" + addr.substr(4) + " " + sig + " --message m", "checksum"},
      {h.P("keys show bob --frobnicate"), "unknown flag"},
      {kProbity + " no-such-command", "unknown command"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cmd);
    Run r = Exec(c.cmd);
    CHECK(r.status != 0);
    CHECK(r.out.find(c.expect) != std::string::npos);
    CHECK(r.out.find("terminate called") == std::string::npos);
  }
  CHECK(Slurp(file) == before);

  // An unreadable (corrupted) key file: a clear error, and the file is left as it was.
  std::ofstream(file) << "{\"version\":1,garbage";
  Run corrupt = Exec(h.P("sign bob --message m"));
  CHECK(corrupt.status != 0);
  CHECK(corrupt.out.find("not valid") != std::string::npos);
  CHECK(Slurp(file) == "{\"version\":1,garbage");
  Run listed = Exec(h.P("keys list"));
  CHECK(listed.status == 0);
  CHECK(listed.out.find("unreadable") != std::string::npos);
}

TEST_CASE("cli: bench crypto prints JSON lines with the wrapper/bare ratio") {
  Run r = Exec(kProbity + " bench crypto --json --quick");
  REQUIRE(r.status == 0);
  for (const char* name :
       {"schnorr_sign_per_s", "schnorr_verify_per_s", "schnorr_verify_all_cores_per_s",
        "sha256_bytes_per_s", "merkle_leaves_per_s"}) {
    CAPTURE(name);
    CHECK(r.out.find(std::string("\"name\":\"") + name + "\"") != std::string::npos);
  }
  CHECK(r.out.find("\"ratio\":") != std::string::npos);
  CHECK(r.out.find("\"suite\":\"crypto\"") != std::string::npos);
}
