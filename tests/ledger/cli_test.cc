// The command line end to end: probity init, node, tx transfer, query account|tx|block, with
// --json, against a real node process; answers are verified against the genesis' proposer.
#include <doctest/doctest.h>

#include <filesystem>

#include "node_harness.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/keystore.h"

using namespace probity;
using namespace probity::ledger;
using testing::CommandResult;
using testing::ProbityBinary;
using testing::RunCommand;

namespace {

// The value after "key": in one line of JSON (numbers and strings without escapes).
std::string JsonField(const std::string& json, const std::string& key) {
  std::string k = "\"" + key + "\":";
  size_t p = json.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  if (json[p] == '"') {
    size_t e = json.find('"', p + 1);
    return json.substr(p + 1, e - p - 1);
  }
  size_t e = json.find_first_of(",}", p);
  return json.substr(p, e - p);
}

CommandResult Probity(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ProbityBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {testing::kPassphraseEnv});
}

}  // namespace

TEST_CASE("init, run a node, send a transfer and read it back, verified") {
  testing::TempDir dir;
  std::string home = dir.path() + "/home";
  NodeHome h{home};
  std::filesystem::create_directories(h.keys_dir());
  ScryptParams fast;
  fast.n = 1 << 10;
  REQUIRE(WriteKeyFile(h.key_file("alice"), testing::TestKey(1), "test-passphrase", fast).ok());
  REQUIRE(WriteKeyFile(h.key_file("bob"), testing::TestKey(2), "test-passphrase", fast).ok());

  auto init = Probity({"init", "--home", home, "--fund", "alice=1000000", "--json"});
  REQUIRE_MESSAGE(init.code == 0, init.output);
  CHECK(JsonField(init.output, "role") == "producer");
  CHECK(JsonField(init.output, "chain_id") == "probity-local");
  auto again = Probity({"init", "--home", home});
  CHECK(again.code != 0);
  CHECK(again.output.find("exists") != std::string::npos);

  auto node = testing::NodeProcess::Start(home, {"--block-interval-ms", "20"});
  REQUIRE_MESSAGE(node.ok(), node.status().ToString());
  REQUIRE((*node)->WaitForHeight(1, 10000));

  auto send = Probity({"tx", "transfer", "--home", home, "--from", "alice", "--to", "bob",
                       "--amount", "250", "--json"});
  REQUIRE_MESSAGE(send.code == 0, send.output);
  CHECK(JsonField(send.output, "ok") == "true");
  CHECK(JsonField(send.output, "committed") == "true");
  CHECK(JsonField(send.output, "nonce") == "1");
  std::string tx_id = JsonField(send.output, "tx_id");
  std::string height = JsonField(send.output, "height");
  REQUIRE(tx_id.size() == 64);

  auto bob = Probity({"query", "account", "bob", "--home", home, "--json"});
  REQUIRE_MESSAGE(bob.code == 0, bob.output);
  CHECK(JsonField(bob.output, "balance") == "250");
  CHECK(JsonField(bob.output, "verified") == "true");
  auto alice = Probity({"query", "account", "alice", "--home", home, "--json"});
  CHECK(JsonField(alice.output, "balance") == "999749");
  CHECK(JsonField(alice.output, "next_nonce") == "2");
  auto alice_human = Probity({"query", "account", "alice", "--home", home});
  CHECK(alice_human.output.find("999749") != std::string::npos);
  CHECK(alice_human.output.find("proofs checked") != std::string::npos);

  auto tx = Probity({"query", "tx", tx_id, "--home", home, "--json"});
  REQUIRE_MESSAGE(tx.code == 0, tx.output);
  CHECK(JsonField(tx.output, "height") == height);
  CHECK(tx.output.find("bank.transfer") != std::string::npos);

  auto block = Probity({"query", "block", height, "--home", home, "--json"});
  REQUIRE_MESSAGE(block.code == 0, block.output);
  CHECK(JsonField(block.output, "tx_count") == "1");
  CHECK(block.output.find(tx_id) != std::string::npos);
  auto latest = Probity({"query", "block", "latest", "--home", home});
  CHECK(latest.code == 0);
  CHECK(latest.output.find("signature, tx root and results root checked") != std::string::npos);

  // Failures: too much, an unknown recipient, a bad id, a typo'd flag.
  auto broke = Probity(
      {"tx", "transfer", "--home", home, "--from", "alice", "--to", "bob", "--amount", "5000000"});
  CHECK(broke.code == 1);
  CHECK(broke.output.find("insufficient funds") != std::string::npos);
  auto nobody = Probity(
      {"tx", "transfer", "--home", home, "--from", "alice", "--to", "carol", "--amount", "1"});
  CHECK(nobody.code != 0);
  CHECK(nobody.output.find("carol") != std::string::npos);
  CHECK(Probity({"query", "tx", "abc", "--home", home}).code != 0);
  auto typo = Probity({"query", "account", "bob", "--home", home, "--jsn"});
  CHECK(typo.code != 0);
  CHECK(typo.output.find("--jsn") != std::string::npos);

  // A client that trusts another chain's genesis refuses this node's answers.
  std::string other = dir.path() + "/other";
  REQUIRE(testing::InitHome(other, {}).ok());
  auto distrust = Probity(
      {"query", "account", "bob", "--home", home, "--genesis", NodeHome{other}.genesis_file()});
  CHECK(distrust.code != 0);
  CHECK(distrust.output.find("proposer") != std::string::npos);
  auto no_anchor = Probity({"query", "account", EncodeAddress(testing::TestKey(2).PublicKey()),
                            "--home", dir.path() + "/nowhere", "--node", (*node)->address()});
  CHECK(no_anchor.code != 0);
  CHECK(no_anchor.output.find("--genesis") != std::string::npos);
}
