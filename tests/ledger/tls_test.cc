// TLS for the node's gRPC service: certificate and key files checked with clear errors, a node
// serving TLS on loopback that answers clients trusting its certificate and no one else
// (plaintext clients, clients trusting another authority), a follower over TLS, and the
// command line (`probity node` with config.toml's TLS keys, `probity query --tls-ca`).
//
// Certificates are made at run time by the openssl command; without it the tests that need one
// say so and skip.
#include "probity/ledger/tls.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "node_harness.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/node.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/node_server.h"

using namespace probity;
using namespace probity::ledger;
using testing::CommandResult;
using testing::RunCommand;
using testing::TestKey;

namespace {

std::optional<std::string> FindOpenssl() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    std::string candidate = d + "/openssl";
    if (!d.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct CertPair {
  std::string cert;
  std::string key;
};

// A self-signed P-256 certificate for localhost and 127.0.0.1, in `dir`/`name`.{crt,key}.
std::optional<CertPair> MakeSelfSigned(const std::string& dir, const std::string& name) {
  auto openssl = FindOpenssl();
  if (!openssl) {
    MESSAGE("skipped: no openssl binary on PATH to make a test certificate");
    return std::nullopt;
  }
  CertPair p{dir + "/" + name + ".crt", dir + "/" + name + ".key"};
  CommandResult r = RunCommand(
      {*openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext",
       "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", p.key, "-out", p.cert},
      {}, 30000);
  REQUIRE_MESSAGE(r.code == 0, r.output);
  return p;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A line of the key's base64 body: no error message may ever contain it.
std::string KeyBodyLine(const std::string& key_file) {
  std::stringstream in(ReadFile(key_file));
  std::string line;
  std::getline(in, line);  // -----BEGIN PRIVATE KEY-----
  std::getline(in, line);
  REQUIRE(line.size() > 16);
  return line;
}

std::shared_ptr<grpc::ChannelCredentials> Channel(const TlsClientOptions& o) {
  auto c = MakeChannelCredentials(o);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  return *c;
}

struct Served {
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeServer> server;

  static Served Start(const std::string& dir, std::shared_ptr<grpc::ServerCredentials> creds,
                      const std::string& follow = "", TlsClientOptions follow_tls = {}) {
    NodeOptions o;
    o.genesis = testing::TestGenesis();
    o.config.block_interval_ms = 10;
    o.config.empty_block_interval_ms = 20;  // blocks keep coming for the follower
    o.follow = follow;
    o.follow_tls = follow_tls;
    if (follow.empty()) o.producer_key = std::make_shared<const SecretKey>(TestKey(0));
    Served s;
    auto n = Node::Open(dir, o, contracts::StandardModules());
    REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    s.node = std::move(*n);
    auto srv = NodeServer::Start(s.node.get(), "127.0.0.1:0", std::move(creds));
    REQUIRE_MESSAGE(srv.ok(), srv.status().ToString());
    s.server = std::move(*srv);
    REQUIRE(s.node->Start().ok());
    return s;
  }
  Served() = default;
  Served(Served&&) = default;
  ~Served() {
    if (server) server->Shutdown();
    if (node) node->Stop();
  }
  std::string Port() const {
    const std::string& a = server->address();
    return a.substr(a.rfind(':') + 1);
  }
};

TrustAnchor Anchor() {
  Genesis g = testing::TestGenesis();
  return {g.chain_id, g.proposer};
}

}  // namespace

TEST_CASE("TLS files: missing, unreadable and malformed ones are clear errors") {
  testing::TempDir dir;
  const std::string d = dir.path();

  auto none = MakeServerCredentials({});
  CHECK(none.ok());  // plaintext, as before TLS
  CHECK(MakeChannelCredentials({}).ok());

  auto half = MakeServerCredentials({.cert_file = d + "/a.crt", .key_file = ""});
  CHECK(half.status().code() == Code::kInvalidArgument);
  CHECK(half.status().message().find("key file") != std::string::npos);

  auto missing = MakeServerCredentials({d + "/nope.crt", d + "/nope.key"});
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find(d + "/nope.crt") != std::string::npos);

  std::filesystem::create_directories(d + "/adir");
  WriteFile(d + "/garbage.pem", "not a certificate\n");
  auto is_dir = MakeServerCredentials({d + "/adir", d + "/garbage.pem"});
  CHECK(is_dir.status().code() == Code::kInvalidArgument);
  CHECK(is_dir.status().message().find("not a file") != std::string::npos);

  auto garbage = MakeServerCredentials({d + "/garbage.pem", d + "/garbage.pem"});
  CHECK(garbage.status().code() == Code::kInvalidArgument);
  CHECK(garbage.status().message().find("no PEM certificate") != std::string::npos);

  auto ca_missing = MakeChannelCredentials({.ca_file = d + "/ca.pem"});
  CHECK(ca_missing.status().code() == Code::kNotFound);
  auto ca_garbage = MakeChannelCredentials({.ca_file = d + "/garbage.pem"});
  CHECK(ca_garbage.status().code() == Code::kInvalidArgument);

  auto a = MakeSelfSigned(d, "a");
  if (!a) return;
  auto b = MakeSelfSigned(d, "b");
  REQUIRE(b);
  const std::string secret = KeyBodyLine(a->key);
  std::vector<Status> errors;

  CHECK(MakeServerCredentials({a->cert, a->key}).ok());
  CHECK(MakeChannelCredentials({.ca_file = a->cert}).ok());

  auto bad_key = MakeServerCredentials({a->cert, d + "/garbage.pem"});
  CHECK(bad_key.status().code() == Code::kInvalidArgument);
  CHECK(bad_key.status().message().find("no PEM private key") != std::string::npos);
  errors.push_back(bad_key.status());

  // The key given as the certificate, and the certificate as the key.
  auto swapped = MakeServerCredentials({a->key, a->cert});
  CHECK(swapped.status().code() == Code::kInvalidArgument);
  CHECK(swapped.status().message().find(a->key) != std::string::npos);
  errors.push_back(swapped.status());

  auto mismatched = MakeServerCredentials({a->cert, b->key});
  CHECK(mismatched.status().code() == Code::kInvalidArgument);
  CHECK(mismatched.status().message().find("does not belong") != std::string::npos);
  errors.push_back(mismatched.status());

  // An encrypted key is refused (a daemon cannot answer a prompt), never prompted for.
  CommandResult enc = RunCommand({*FindOpenssl(), "pkey", "-in", a->key, "-aes256", "-passout",
                                  "pass:secret", "-out", d + "/enc.key"},
                                 {}, 30000);
  REQUIRE_MESSAGE(enc.code == 0, enc.output);
  auto encrypted = MakeServerCredentials({a->cert, d + "/enc.key"});
  CHECK(encrypted.status().code() == Code::kInvalidArgument);
  CHECK(encrypted.status().message().find("encrypted") != std::string::npos);
  errors.push_back(encrypted.status());

  // A truncated key file.
  std::string key_text = ReadFile(a->key);
  WriteFile(d + "/short.key", key_text.substr(0, key_text.size() / 2));
  auto truncated = MakeServerCredentials({a->cert, d + "/short.key"});
  CHECK(truncated.status().code() == Code::kInvalidArgument);
  errors.push_back(truncated.status());

  for (const Status& e : errors) {
    CHECK(e.message().find(secret) == std::string::npos);
    CHECK(e.message().find("PRIVATE KEY-----") == std::string::npos);
  }
}

TEST_CASE("a node serving TLS answers clients that trust its certificate, and no one else") {
  testing::TempDir dir;
  auto a = MakeSelfSigned(dir.path(), "a");
  if (!a) return;
  auto b = MakeSelfSigned(dir.path(), "b");
  REQUIRE(b);
  auto creds = MakeServerCredentials({a->cert, a->key});
  REQUIRE_MESSAGE(creds.ok(), creds.status().ToString());
  Served s = Served::Start(dir.path() + "/producer", *creds);
  REQUIRE(s.node->WaitForHeight(1, std::chrono::seconds(10)));

  // By IP (the certificate names 127.0.0.1) and by name (localhost).
  for (std::string host : {"127.0.0.1", "localhost"}) {
    NodeClient tls(host + ":" + s.Port(), Anchor(), Channel({.ca_file = a->cert}));
    auto st = tls.GetStatus();
    REQUIRE_MESSAGE(st.ok(), host << ": " << st.status().ToString());
    CHECK(st->height() >= 1);
    auto block = tls.GetBlock(1);  // verified against the proposer's signature
    CHECK_MESSAGE(block.ok(), block.status().ToString());
  }

  NodeClient plaintext(s.server->address(), Anchor());
  auto p = plaintext.GetStatus();
  CHECK_FALSE(p.ok());
  CHECK(p.status().code() == Code::kUnavailable);

  NodeClient other_ca(s.server->address(), Anchor(), Channel({.ca_file = b->cert}));
  CHECK(other_ca.GetStatus().status().code() == Code::kUnavailable);

  // A follower reaches the TLS producer with the CA, and verifies what it gets.
  Served f =
      Served::Start(dir.path() + "/follower", nullptr, s.server->address(), {.ca_file = a->cert});
  CHECK(f.node->WaitForHeight(2, std::chrono::seconds(10)));
  CHECK(f.node->Describe().halted.empty());
  CHECK(f.node->Describe().follower_connected);
}

TEST_CASE("a follower that does not trust the producer's certificate gets nothing") {
  testing::TempDir dir;
  auto a = MakeSelfSigned(dir.path(), "a");
  if (!a) return;
  auto b = MakeSelfSigned(dir.path(), "b");
  REQUIRE(b);
  Served s = Served::Start(dir.path() + "/producer", *MakeServerCredentials({a->cert, a->key}));
  REQUIRE(s.node->WaitForHeight(2, std::chrono::seconds(10)));
  Served plain = Served::Start(dir.path() + "/plain", nullptr, s.server->address());
  Served other =
      Served::Start(dir.path() + "/other", nullptr, s.server->address(), {.ca_file = b->cert});
  CHECK_FALSE(plain.node->WaitForHeight(1, std::chrono::milliseconds(800)));
  CHECK_FALSE(other.node->WaitForHeight(1, std::chrono::milliseconds(200)));
  CHECK_FALSE(other.node->Describe().follower_connected);
  // A follower's CA file is checked when it opens.
  NodeOptions o;
  o.genesis = testing::TestGenesis();
  o.follow = s.server->address();
  o.follow_tls.ca_file = dir.path() + "/missing.pem";
  auto bad = Node::Open(dir.path() + "/bad", o, contracts::StandardModules());
  CHECK(bad.status().code() == Code::kNotFound);
}

TEST_CASE("probity node with TLS from config.toml, and probity query with --tls-ca") {
  testing::TempDir dir;
  const std::string home = dir.path() + "/home";
  NodeHome h{home};
  REQUIRE(testing::InitHome(home, {"--fund", testing::FundFlag(1, 1000)}).ok());
  std::filesystem::create_directories(h.config_dir() + "/tls");
  auto a = MakeSelfSigned(h.config_dir() + "/tls", "node");
  if (!a) return;
  // Relative paths in config.toml are relative to the config folder.
  std::string config = ReadFile(h.config_file());
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t p = config.find(from);
    REQUIRE(p != std::string::npos);
    config.replace(p, from.size(), to);
  };
  replace("tls_cert_file = \"\"", "tls_cert_file = \"tls/node.crt\"");
  replace("tls_key_file = \"\"", "tls_key_file = \"tls/node.key\"");
  WriteFile(h.config_file(), config);

  auto node = testing::NodeProcess::Start(home, {"--block-interval-ms", "20", "--json"});
  REQUIRE_MESSAGE(node.ok(), node.status().ToString());
  const std::string addr = (*node)->address();
  NodeClient tls(addr, (*node)->Client()->anchor(), Channel({.ca_file = a->cert}));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = tls.GetStatus();
    if (st.ok() && st->height() >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(tls.GetStatus().ok());
  CHECK_FALSE((*node)->Client()->GetStatus().ok());  // the harness's plaintext client

  std::vector<std::string> env = {testing::kPassphraseEnv};
  CommandResult q = RunCommand({testing::ProbityBinary(), "query", "block", "latest", "--home",
                                home, "--tls-ca", a->cert, "--json"},
                               env);
  CHECK_MESSAGE(q.code == 0, q.output);
  CHECK(q.output.find("\"ok\":true") != std::string::npos);
  CommandResult plain = RunCommand(
      {testing::ProbityBinary(), "query", "block", "latest", "--home", home, "--json"}, env);
  CHECK(plain.code != 0);
  CHECK(plain.output.find("cannot reach the node") != std::string::npos);
  CommandResult no_ca = RunCommand({testing::ProbityBinary(), "query", "block", "latest", "--home",
                                    home, "--tls-ca", dir.path() + "/none.pem", "--json"},
                                   env);
  CHECK(no_ca.code != 0);
  CHECK(no_ca.output.find("none.pem does not exist") != std::string::npos);
  (*node)->process().Signal(SIGTERM);
  CHECK((*node)->process().WaitFor(10000) == 0);
  CHECK((*node)->process().Output().find("\"tls\":true") != std::string::npos);

  // A key file that is not there stops the node at start-up, naming the file.
  std::filesystem::remove(h.config_dir() + "/tls/node.key");
  auto broken = testing::NodeProcess::Start(home);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("tls/node.key does not exist") != std::string::npos);
}
