// Crash safety under load: a real node process is SIGKILLed at random instants (at least 50
// times) while clients submit transfers and wait for their commits; it is restarted each time.
// Afterwards: the node serves again; every transaction it ever reported committed is still
// where it was reported; and replaying the stored blocks from genesis in a fresh, never
// interrupted application gives the same app hash (and results root) at every height.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "node_harness.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"

using namespace probity;
using namespace probity::ledger;
using testing::TestKey;

namespace {

constexpr int kAccounts = 12;  // tracked: every commit is recorded and checked
constexpr int kThreads = 3;
constexpr int kPressureAccounts = 24;  // untracked: fire-and-forget, to keep blocks full
constexpr int kKills = 52;

struct Committed {
  Hash256 id;
  uint64_t height;
  uint32_t index;
};

// Clients that keep sending transfers, each thread with its own accounts, whatever the node's
// state: errors (the node is down) just mean "try again later".
class LoadGenerator {
 public:
  explicit LoadGenerator(std::string home) : home_(std::move(home)) {}
  void SetAddress(const std::string& a) {
    std::lock_guard<std::mutex> l(mu_);
    address_ = a;
  }
  void Start() {
    for (int t = 0; t < kThreads; ++t) threads_.emplace_back([this, t] { Run(t); });
    threads_.emplace_back([this] { Pressure(); });
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  std::vector<Committed> committed() {
    std::lock_guard<std::mutex> l(mu_);
    return committed_;
  }
  uint64_t refused() const { return refused_; }

 private:
  void Run(int t) {
    auto genesis = LoadGenesisFile(NodeHome{home_}.genesis_file()).value();
    std::map<int, uint64_t> next;  // account -> next nonce, 0 = unknown
    std::mt19937 rng(static_cast<uint32_t>(t) * 7919u);
    while (!stop_) {
      std::string addr;
      {
        std::lock_guard<std::mutex> l(mu_);
        addr = address_;
      }
      NodeClient client(addr, {genesis.chain_id, genesis.proposer});
      for (int a = 1 + t; a <= kAccounts && !stop_; a += kThreads) {
        if (next[a] == 0) {
          auto v = client.QueryStore(NonceKey(TestKey(static_cast<uint64_t>(a)).PublicKey()));
          if (!v.ok()) break;  // node down: new address, later
          next[a] = (v->second ? GetU64LE(v->second->data()) : 0) + 1;
        }
        int to = 1 + static_cast<int>(rng() % kAccounts);
        Bytes tx = testing::Transfer(a, TestKey(static_cast<uint64_t>(to)).PublicKey(),
                                     1 + rng() % 50, next[a]);
        auto resp = client.Submit(tx, true, std::chrono::seconds(3));
        if (!resp.ok() || !resp->committed()) {
          // Down, refused (e.g. its nonce was used by an earlier attempt that did commit), or
          // lost with the mempool in a crash: learn the nonce again from the chain.
          if (resp.ok() && resp->code() != 0) ++refused_;
          next[a] = 0;
          if (!resp.ok()) break;
          continue;
        }
        Committed c;
        std::memcpy(c.id.data(), resp->tx_id().data(), 32);
        c.height = resp->height();
        c.index = resp->index();
        ++next[a];
        std::lock_guard<std::mutex> l(mu_);
        committed_.push_back(c);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Transfers from other accounts without waiting: the node always has a mempool to commit.
  void Pressure() {
    auto genesis = LoadGenesisFile(NodeHome{home_}.genesis_file()).value();
    std::map<int, uint64_t> next;
    while (!stop_) {
      std::string addr;
      {
        std::lock_guard<std::mutex> l(mu_);
        addr = address_;
      }
      NodeClient client(addr, {genesis.chain_id, genesis.proposer});
      for (int a = kAccounts + 1; a <= kAccounts + kPressureAccounts && !stop_; ++a) {
        auto key = TestKey(static_cast<uint64_t>(a)).PublicKey();
        if (next[a] == 0) {
          auto v = client.QueryStore(NonceKey(key));
          if (!v.ok()) break;
          next[a] = (v->second ? GetU64LE(v->second->data()) : 0) + 1;
        }
        auto resp = client.Submit(testing::Transfer(a, key, 1, next[a]), false, {});
        if (!resp.ok()) break;
        if (resp->code() == 0) {
          ++next[a];
        } else {
          next[a] = 0;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::string home_;
  std::mutex mu_;
  std::string address_;
  std::vector<Committed> committed_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace

TEST_CASE("SIGKILL at 50+ random instants under load loses nothing committed") {
  testing::TempDir dir;
  std::string home = dir.path() + "/node";
  REQUIRE(testing::InitHome(
              home, {"--fund", testing::FundFlag(kAccounts + kPressureAccounts, 1000000000)})
              .ok());
  LoadGenerator load(home);
  std::mt19937 rng(20261123);
  std::vector<uint64_t> heights_at_kill;
  for (int kill = 0; kill <= kKills; ++kill) {
    auto node = testing::NodeProcess::Start(home, {"--block-interval-ms", "15"});
    REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    load.SetAddress((*node)->address());
    if (kill == 0) load.Start();
    if (kill == kKills) break;  // the last start: leave it running for the checks
    std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 340));
    heights_at_kill.push_back((*node)->Height());
    (*node)->process().Signal(SIGKILL);
    CHECK((*node)->process().Wait() == 128 + SIGKILL);
  }
  // The node that is up now serves again; give the load a moment on it, then stop.
  auto node = testing::NodeProcess::Start(home, {"--block-interval-ms", "15"});
  REQUIRE(node.ok());
  load.SetAddress((*node)->address());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  load.Stop();
  auto client = (*node)->Client();
  auto status = client->GetStatus();
  REQUIRE(status.ok());
  const uint64_t height = status->height();
  std::vector<Committed> committed = load.committed();
  MESSAGE("kills: " << heights_at_kill.size() << ", height " << height << ", " << committed.size()
                    << " tracked transfers committed, " << load.refused()
                    << " refused and retried");
  CHECK(heights_at_kill.size() >= 50);
  CHECK(committed.size() > 100);
  for (size_t i = 1; i < heights_at_kill.size(); ++i) {
    CHECK(heights_at_kill[i] >= heights_at_kill[i - 1]);  // never went back
  }

  // Every transaction reported committed is still there, where it was reported.
  for (const auto& c : committed) {
    auto tx = client->GetTx(c.id);  // with inclusion proofs against the signed header
    REQUIRE_MESSAGE(tx.ok(), tx.status().ToString());
    CHECK(tx->height() == c.height);
    CHECK(tx->index() == c.index);
  }

  // An uninterrupted replay of the stored blocks gives the same app hash at every height.
  Genesis genesis = LoadGenesisFile(NodeHome{home}.genesis_file()).value();
  testing::TempDir replay_dir;
  auto replay = testing::TestChain::Open(replay_dir.path(), genesis, contracts::StandardModules());
  REQUIRE(replay.ok());
  ChainApp& app = (*replay)->app();
  Hash256 prev{};
  for (uint64_t h = 1; h <= height; ++h) {
    auto block = client->GetBlock(h);  // signature and tx root verified
    REQUIRE_MESSAGE(block.ok(), block.status().ToString());
    types::v1::BlockHeader header;
    REQUIRE(header.ParseFromString(block->block().header()));
    FinalizeBlockRequest req;
    req.block.chain_id = genesis.chain_id;
    req.block.height = h;
    req.block.time_unix_ms = header.time_unix_ms();
    req.block.prev_block_hash = prev;
    req.block.proposer = genesis.proposer;
    std::vector<Bytes> txs;
    for (const auto& t : block->block().txs()) txs.emplace_back(t.begin(), t.end());
    req.txs = txs;
    auto resp = app.FinalizeBlock(req);
    REQUIRE(resp.ok());
    INFO("height " << h);
    CHECK(std::string(resp->app_hash.begin(), resp->app_hash.end()) == header.app_hash());
    Hash256 rr = ResultsRoot(resp->tx_results);
    CHECK(std::string(rr.begin(), rr.end()) == header.results_root());
    REQUIRE(app.Commit({}).ok());
    std::memcpy(prev.data(), block->block_hash().data(), 32);
  }
  CHECK(app.Info().last_app_hash == Hash256FromHex(ToHex(AsBytes(status->app_hash()))).value());

  // And it still takes new work.
  auto more = client->Submit(
      testing::Transfer(1, TestKey(2).PublicKey(), 1,
                        [&] {
                          auto v = client->QueryStore(NonceKey(TestKey(1).PublicKey()));
                          REQUIRE(v.ok());
                          return (v->second ? GetU64LE(v->second->data()) : 0) + 1;
                        }()),
      true, std::chrono::seconds(10));
  REQUIRE(more.ok());
  CHECK(more->committed());
}
