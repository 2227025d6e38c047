// A producer and two followers as separate processes on loopback (real gRPC, real RocksDB):
// they agree block for block, and a producer that signs a wrong app hash is caught.
#include <doctest/doctest.h>
#include <signal.h>

#include <thread>

#include "node_harness.h"
#include "probity/contracts/bank.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"

using namespace probity;
using namespace probity::ledger;
using probity::contracts::Bank;
using testing::TestKey;

namespace {

constexpr int kAccounts = 8;

struct Cluster {
  testing::TempDir dir;
  std::string producer_home = dir.path() + "/producer";
  std::vector<std::string> follower_homes = {dir.path() + "/follower1", dir.path() + "/follower2"};
  std::unique_ptr<testing::NodeProcess> producer;
  std::vector<std::unique_ptr<testing::NodeProcess>> followers;

  explicit Cluster(const std::vector<std::string>& producer_env = {}) {
    REQUIRE(
        testing::InitHome(producer_home, {"--fund", testing::FundFlag(kAccounts, 1000000)}).ok());
    for (const auto& h : follower_homes) {
      REQUIRE(testing::InitHome(h, {"--genesis", NodeHome{producer_home}.genesis_file()}).ok());
    }
    auto p =
        testing::NodeProcess::Start(producer_home, {"--block-interval-ms", "20"}, producer_env);
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    producer = std::move(*p);
    for (const auto& h : follower_homes) {
      auto f = testing::NodeProcess::Start(h, {"--follow", producer->address()});
      REQUIRE_MESSAGE(f.ok(), f.status().ToString());
      followers.push_back(std::move(*f));
    }
  }
};

// Sends `rounds` transfers from every account, waiting for each round to commit.
void Load(const NodeClient& c, int rounds, uint64_t first_nonce = 1) {
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::thread> ts;
    for (int a = 1; a <= kAccounts; ++a) {
      ts.emplace_back([&, a, r] {
        Bytes tx =
            testing::Transfer(a, TestKey(static_cast<uint64_t>(a % kAccounts + 1)).PublicKey(), 7,
                              first_nonce + static_cast<uint64_t>(r));
        auto resp = c.Submit(tx, true, std::chrono::seconds(20));
        CHECK(resp.ok());
        if (resp.ok()) CHECK(resp->committed());
      });
    }
    for (auto& t : ts) t.join();
  }
}

}  // namespace

TEST_CASE("a producer and two followers agree on every block and serve verified reads") {
  Cluster c;
  auto client = c.producer->Client();
  Load(*client, 5);
  uint64_t h = c.producer->Height();
  REQUIRE(h >= 2);
  for (auto& f : c.followers) REQUIRE(f->WaitForHeight(h, 20000));

  std::vector<std::unique_ptr<NodeClient>> clients;
  clients.push_back(c.producer->Client());
  for (auto& f : c.followers) clients.push_back(f->Client());
  for (uint64_t i = 1; i <= h; ++i) {
    auto p = clients[0]->GetBlock(i);
    REQUIRE(p.ok());
    for (size_t j = 1; j < clients.size(); ++j) {
      auto b = clients[j]->GetBlock(i);  // verified against the proposer's signature
      REQUIRE_MESSAGE(b.ok(), b.status().ToString());
      CHECK(b->block().SerializeAsString() == p->block().SerializeAsString());
      CHECK(b->results().SerializeAsString() == p->results().SerializeAsString());
    }
  }
  auto status = clients[0]->GetStatus();
  for (size_t j = 1; j < clients.size(); ++j) {
    auto s = clients[j]->GetStatus();
    REQUIRE(s.ok());
    CHECK(s->mode() == "follower");
    CHECK(s->halted().empty());
    if (s->height() == status->height()) CHECK(s->app_hash() == status->app_hash());
  }
  // Reads from a follower are proven; its account view matches the producer's.
  for (int a = 1; a <= kAccounts; ++a) {
    Bytes key = Bank::BalanceKey(TestKey(static_cast<uint64_t>(a)).PublicKey());
    auto from_follower = clients[1]->QueryStore(key, h);
    auto from_producer = clients[0]->QueryStore(key, h);
    REQUIRE(from_follower.ok());
    REQUIRE(from_producer.ok());
    CHECK(from_follower->second == from_producer->second);
  }
  // A follower refuses to take transactions.
  auto refused = clients[2]->Submit(testing::Transfer(1, TestKey(2).PublicKey(), 1, 6), false, {});
  REQUIRE(refused.ok());
  CHECK(refused->code() == static_cast<uint32_t>(TxCode::kNotAccepting));
  CHECK(refused->log().find(c.producer->address()) != std::string::npos);
}

TEST_CASE("followers catch up after a restart, from where they stopped") {
  Cluster c;
  auto client = c.producer->Client();
  Load(*client, 2);
  REQUIRE(c.followers[0]->WaitForHeight(c.producer->Height(), 20000));
  c.followers[0]->process().Signal(SIGKILL);
  c.followers[0]->process().Wait();
  Load(*client, 2, 3);
  auto f = testing::NodeProcess::Start(c.follower_homes[0], {"--follow", c.producer->address()});
  REQUIRE(f.ok());
  REQUIRE((*f)->WaitForHeight(c.producer->Height(), 20000));
  CHECK((*f)->Client()->GetStatus()->app_hash() == client->GetStatus()->app_hash());
}

TEST_CASE("a producer that signs a wrong app hash is caught by its followers") {
  // TEST ONLY switch: the producer flips a bit of the app hash it signs at height 3.
  Cluster c({"PROBITY_TEST_CORRUPT_APP_HASH_AT=3"});
  auto client = c.producer->Client();
  // Block 1 (genesis state), then one block per round: block 3 is the lying one.
  Load(*client, 4);
  REQUIRE(c.producer->Height() >= 3);
  for (auto& f : c.followers) {
    std::string halted;
    for (int i = 0; i < 500 && halted.empty(); ++i) {
      auto s = f->Client()->GetStatus();
      if (s.ok()) halted = s->halted();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(halted.find("block 3") != std::string::npos);
    CHECK(halted.find("app hash") != std::string::npos);
    CHECK(f->process().Output().find("ALARM: ") != std::string::npos);
    // It stopped before the bad block and still serves what it verified.
    auto s = f->Client()->GetStatus();
    REQUIRE(s.ok());
    CHECK(s->height() == 2);
    CHECK(f->Client()->GetBlock(2).ok());
  }
  // Its own (honest) re-execution is what a client sees from the follower; the producer's
  // header for block 3 does not match the state it serves, so proofs against it fail.
  auto proof = client->QueryStore(Bank::BalanceKey(TestKey(1).PublicKey()), 3);
  CHECK_FALSE(proof.ok());
}
