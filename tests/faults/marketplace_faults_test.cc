// The marketplace under faults: a node, a provider and a verifier as processes, this test as a
// buyer ordering small Fashion-MNIST training jobs one after another, while the test
//   - SIGKILLs the node, the provider or the verifier at random instants and restarts it at
//     once (kKills in total; PROBITY_FAULT_KILLS overrides the count),
//   - every kOutageEvery kills keeps the node down for kOutage, cutting the provider's and the
//     verifier's connection to it,
//   - every kOutageEvery kills (half-way between outages) cuts the provider's link to the node
//     for kOutage while both stay up: the provider reaches the node through a TCP forwarder
//     (tests/support/tcp_proxy.h) that resets every connection and refuses new ones meanwhile,
//   - once, kills the provider, damages every blob on its disk (HOME/provider/blobs/<sha>) and
//     restarts it: a damaged blob must never be used (the provider drops it and asks again; the
//     buyer uploads again).
// The seed is printed; PROBITY_FAULT_SEED=N replays the same schedule (the same kinds of kill at
// the same intervals: where each lands in the processes' work still varies with timing).
// PROBITY_FAULT_CORRUPT_AT=K moves the blob damage to the K-th fault (0: none).
//
// Afterwards, from the chain itself (every block fetched and verified from genesis):
//   - every transaction the buyer saw committed is still there, same place, same result;
//   - no job committed twice in one attempt, none settled twice;
//   - every job ordered ends in a terminal state (settled, slashed, cancelled, expired and
//     refunded) within kSettleBound after the faults stop;
//   - balances reconcile with the event history: replaying bank.transfer events and the fees
//     of every transaction from the genesis balances gives each account's proven balance, the
//     total is the genesis supply, and the provider's gain (balance + stake) equals its
//     settlement payments minus its fees and slashes.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "market_harness.h"
#include "node_harness.h"
#include "probity/client/chain.h"
#include "probity/client/provider_client.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/market.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/job_result.h"
#include "provider_harness.h"
#include "tcp_proxy.h"
#include "verifier_harness.h"

namespace probity::verifierd {
namespace {

namespace lt = ledger::testing;
using namespace std::chrono_literals;
using provider::testing::ProviderProcess;
using testing::kBuyer;
using testing::kProvider;
using testing::VerifierProcess;
using Clock = std::chrono::steady_clock;

constexpr int kKills = 200;
constexpr int kOutageEvery = 50;
constexpr auto kOutage = 4s;
constexpr int kCorruptAtKill = 30;
constexpr auto kSettleBound = 240s;         // after the last fault, for every job to end
constexpr uint64_t kDeadlineBlocks = 1500;  // 30 s of 20 ms blocks: then expired, refunded

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

bool Terminal(jobs::v1::JobState s) {
  return s == jobs::v1::JOB_STATE_SETTLED || s == jobs::v1::JOB_STATE_SLASHED ||
         s == jobs::v1::JOB_STATE_CANCELLED || s == jobs::v1::JOB_STATE_EXPIRED;
}

struct SeenTx {
  Hash256 id{};
  uint64_t height = 0;
  uint32_t index = 0;
  std::string result;  // serialised TxResult
};

// The three processes on one home; the node on a fixed port so that the others find it again.
class Processes {
 public:
  explicit Processes(std::string home) : home_(std::move(home)) {
    node_address_ = "127.0.0.1:" + std::to_string(provider::testing::FreePort());
    provider_port_ = provider::testing::FreePort();
    auto proxy = lt::TcpProxy::Start(node_address_);
    if (proxy.ok()) provider_link_ = std::move(*proxy);
  }
  const std::string& node_address() const { return node_address_; }
  // The provider's way to the node (a TCP forwarder the test can cut).
  lt::TcpProxy* provider_link() { return provider_link_.get(); }

  Status StartNode() {
    PROBITY_ASSIGN_OR_RETURN(node_, lt::NodeProcess::Start(home_, {"--block-interval-ms", "20",
                                                                   "--listen", node_address_}));
    return Status::OK();
  }
  Status StartProvider() {
    PROBITY_ASSIGN_OR_RETURN(
        provider_, ProviderProcess::Start(home_, testing::MarketProviderArgs(
                                                     provider_link_->address(), provider_port_)));
    return Status::OK();
  }
  Status StartVerifier() {
    PROBITY_ASSIGN_OR_RETURN(verifier_, VerifierProcess::Start(home_, "verifier", node_address_));
    return Status::OK();
  }
  // SIGKILL; the exit status (128 + 9 when it was still running).
  int KillNode() { return Kill(node_->process()); }
  int KillProvider() { return Kill(provider_->process()); }
  int KillVerifier() { return Kill(verifier_->process()); }
  std::string Logs() {
    return "--- provider ---\n" + Tail(provider_ ? provider_->Log() : "") + "\n--- verifier ---\n" +
           Tail(verifier_ ? verifier_->Log() : "") + "\n--- node ---\n" +
           Tail(node_ ? node_->process().Output() : "");
  }

 private:
  static int Kill(lt::ChildProcess& p) {
    p.Signal(SIGKILL);
    return p.Wait();
  }
  static std::string Tail(const std::string& s) {
    return s.size() > 4000 ? s.substr(s.size() - 4000) : s;
  }
  std::string home_;
  std::string node_address_;
  int provider_port_;
  std::unique_ptr<lt::TcpProxy> provider_link_;
  std::unique_ptr<lt::NodeProcess> node_;
  std::unique_ptr<ProviderProcess> provider_;
  std::unique_ptr<VerifierProcess> verifier_;
};

// The buyer: orders jobs one after another and drives each through its flow, whatever is down.
// Every transaction is sent with an explicit nonce and the same bytes are resubmitted until the
// chain holds them, so a crash never makes it order twice.
class Buyer {
 public:
  Buyer(std::string node_address, ledger::Genesis genesis)
      : address_(std::move(node_address)), genesis_(std::move(genesis)) {}
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void StopOrdering() { stop_ordering_ = true; }
  void Join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Hash256> jobs() {
    std::lock_guard<std::mutex> l(mu_);
    return jobs_;
  }
  std::vector<SeenTx> seen() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }
  uint64_t uploads() const { return uploads_; }

 private:
  std::shared_ptr<ledger::NodeClient> Client() const {
    return std::make_shared<ledger::NodeClient>(
        address_, ledger::TrustAnchor{genesis_.chain_id, genesis_.proposer});
  }

  // Sends `msg` until it is in a block; nullopt when the node refuses it outright (e.g. a reveal
  // after its window) or on stop.
  std::optional<SeenTx> SendReliably(const google::protobuf::Message& msg) {
    const SecretKey key = lt::TestKey(kBuyer);
    std::optional<Bytes> tx;
    uint64_t nonce = 0;
    while (!stop_) {
      auto client = Client();
      if (!tx) {
        auto v = client->QueryStore(ledger::NonceKey(key.PublicKey()));
        if (!v.ok()) {
          std::this_thread::sleep_for(100ms);
          continue;
        }
        nonce = (v->second ? GetU64LE(v->second->data()) : 0) + 1;
        ledger::TxFields f;
        f.chain_id = genesis_.chain_id;
        f.nonce = nonce;
        f.fee = genesis_.params.min_fee;
        f.msg_type_url = msg.GetDescriptor()->full_name();
        const std::string value = ledger::SerializeCanonical(msg);
        f.msg_value.assign(value.begin(), value.end());
        auto built = ledger::BuildSignedTx(key, f);
        if (!built.ok()) return std::nullopt;
        tx = *built;
      }
      const Hash256 id = ledger::TxId(*tx);
      auto r = client->Submit(*tx, true, 5s);
      if (r.ok() && r->committed()) {
        SeenTx s{id, r->height(), r->index(), r->result().SerializeAsString()};
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(s);
        return s;
      }
      // Down, lost with a crashed node's mempool, already pending, or refused: is it in?
      auto got = client->GetTx(id);
      if (got.ok()) {
        SeenTx s{id, got->height(), got->index(), got->result().SerializeAsString()};
        std::lock_guard<std::mutex> l(mu_);
        seen_.push_back(s);
        return s;
      }
      if (r.ok() && r->code() != 0) {
        auto v = client->QueryStore(ledger::NonceKey(key.PublicKey()));
        const uint64_t used = v.ok() && v->second ? GetU64LE(v->second->data()) : 0;
        // Not in, its nonce not used: refused on its merits (nonce reuse would be ours, and
        // ours alone: GetTx would then have found it).
        if (v.ok() && used < nonce && r->log().find("already") == std::string::npos) {
          return std::nullopt;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  std::optional<jobs::v1::Job> Job(const Hash256& id) {
    client::ChainReader chain(Client());
    auto j = chain.Job(id);
    return j.ok() ? *j : std::nullopt;
  }

  void Upload(const Hash256& id, const jobs::v1::Job& job, const workloads::JobSpec& spec) {
    client::ChainReader chain(Client());
    Hash256 offer_id;
    if (job.offer_id().size() != 32) return;
    std::memcpy(offer_id.data(), job.offer_id().data(), 32);
    auto offer = chain.Offer(offer_id);
    if (!offer.ok() || !offer->has_value()) return;
    XOnlyPubKey provider_key;
    std::memcpy(provider_key.data(), job.provider().data(), 32);
    client::ProviderClient provider((*offer)->endpoint(), provider_key);
    if (provider
            .Upload(lt::TestKey(kBuyer), id, provider::v1::BLOB_ROLE_SPEC,
                    workloads::EncodeJobSpec(spec))
            .ok()) {
      ++uploads_;
    }
  }

  void Run() {
    for (uint64_t n = 0; !stop_ && !stop_ordering_; ++n) {
      auto spec = testing::TinyTrainSpec(100 + n);
      if (!spec.ok()) return;
      verifier::Secret secret{};
      secret[0] = static_cast<uint8_t>(n);
      secret[1] = 0x5a;
      uint64_t height = 0;
      while (!stop_) {
        auto s = Client()->GetStatus();
        if (s.ok()) {
          height = s->height();
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
      auto order = SendReliably(testing::TrainOrder(*spec, secret, testing::kTinySegments,
                                                    kDeadlineBlocks, height + kDeadlineBlocks));
      if (!order) continue;
      const Hash256 id = contracts::Market::OrderId(order->id);
      {
        std::lock_guard<std::mutex> l(mu_);
        jobs_.push_back(id);
      }
      // Drive it until it ends (or the test stops): upload while assigned (again after a
      // while: the provider may have lost or dropped it), reveal once committed.
      auto last_upload = Clock::now() - 1h;
      bool revealed = false;
      while (!stop_) {
        auto job = Job(id);
        if (job && Terminal(job->state())) break;
        if (job && job->state() == jobs::v1::JOB_STATE_ASSIGNED &&
            Clock::now() - last_upload > 3s) {
          Upload(id, *job, *spec);
          last_upload = Clock::now();
        }
        if (job && job->state() == jobs::v1::JOB_STATE_COMMITTED && !revealed) {
          auto s = Client()->GetStatus();
          if (s.ok() && s->height() >= job->commit_height() + 2) {
            jobs::v1::MsgReveal reveal;
            reveal.set_job_id(std::string(id.begin(), id.end()));
            reveal.set_secret(std::string(secret.begin(), secret.end()));
            SendReliably(reveal);
            revealed = true;
          }
        }
        std::this_thread::sleep_for(100ms);
      }
    }
  }

  std::string address_;
  ledger::Genesis genesis_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, stop_ordering_{false};
  std::atomic<uint64_t> uploads_{0};
  std::mutex mu_;
  std::vector<Hash256> jobs_;
  std::vector<SeenTx> seen_;
};

std::string Attr(const types::v1::Event& e, std::string_view key) {
  return client::EventAttribute(e, key).value_or("");
}

uint64_t U64(const std::string& s) { return s.empty() ? 0 : std::stoull(s); }

TEST_CASE("marketplace: 200 SIGKILLs, node outages and a damaged blob lose and double nothing") {
  if (!testing::HaveFashionMnist()) {
    MESSAGE("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");
    return;
  }
  const uint32_t seed = static_cast<uint32_t>(
      EnvInt("PROBITY_FAULT_SEED", static_cast<int>(std::random_device{}() & 0x7fffffff)));
  const int kills = EnvInt("PROBITY_FAULT_KILLS", kKills);
  const int corrupt_at = EnvInt("PROBITY_FAULT_CORRUPT_AT", kCorruptAtKill);  // 0: never
  MESSAGE("PROBITY_FAULT_SEED=" << seed << " PROBITY_FAULT_KILLS=" << kills
                                << " PROBITY_FAULT_CORRUPT_AT=" << corrupt_at);
  std::mt19937 rng(seed);

  lt::TempDir dir;
  const std::string home = dir.path() + "/home";
  REQUIRE(testing::PrepareMarketHome(home).ok());
  const ledger::Genesis genesis = *ledger::LoadGenesisFile(ledger::NodeHome{home}.genesis_file());
  Processes p(home);
  REQUIRE(p.provider_link() != nullptr);
  REQUIRE(p.StartNode().ok());
  Status s = p.StartVerifier();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  s = p.StartProvider();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  Buyer buyer(p.node_address(), genesis);
  buyer.Start();

  // The faults. A restart that fails is retried (a provider or verifier started while the node
  // is still coming up may give up): only a part that never comes back fails the test.
  auto restart = [&](const char* what, auto start) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      Status st = start();
      if (st.ok()) return;
      MESSAGE(what << " restart failed (" << st.ToString().substr(0, 300) << "), retrying");
      std::this_thread::sleep_for(500ms);
    }
    FAIL(what << " does not come back\n" << p.Logs());
  };
  std::map<std::string, int> count;
  const auto faults_start = Clock::now();
  bool corrupted = false;
  for (int k = 1; k <= kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 700));
    if (k % kOutageEvery == 0) {
      CHECK(p.KillNode() == 128 + SIGKILL);
      std::this_thread::sleep_for(kOutage);  // provider and verifier cut off from the chain
      restart("node", [&] { return p.StartNode(); });
      ++count["node outage"];
      continue;
    }
    if (k % kOutageEvery == kOutageEvery / 2) {
      // A network fault, not a crash: the provider stays up and cut off from the node.
      p.provider_link()->Cut(std::chrono::duration_cast<std::chrono::milliseconds>(kOutage));
      std::this_thread::sleep_for(kOutage);
      ++count["provider link cut"];
    }
    if (k == corrupt_at) {
      p.KillProvider();
      int damaged = 0;
      for (const auto& f : std::filesystem::directory_iterator(home + "/provider/blobs")) {
        if (!f.is_regular_file() || f.file_size() == 0) continue;
        std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
        char c = 0;
        io.seekg(static_cast<std::streamoff>(f.file_size() / 2));
        io.get(c);
        io.seekp(static_cast<std::streamoff>(f.file_size() / 2));
        io.put(static_cast<char>(c ^ 0x40));
        ++damaged;
      }
      MESSAGE("damaged " << damaged << " blobs on the provider's disk");
      corrupted = damaged > 0;
      restart("provider", [&] { return p.StartProvider(); });
      ++count["provider"];
      continue;
    }
    switch (rng() % 3) {
      case 0:
        CHECK(p.KillNode() == 128 + SIGKILL);
        restart("node", [&] { return p.StartNode(); });
        ++count["node"];
        break;
      case 1:
        p.KillProvider();
        restart("provider", [&] { return p.StartProvider(); });
        ++count["provider"];
        break;
      default:
        p.KillVerifier();
        restart("verifier", [&] { return p.StartVerifier(); });
        ++count["verifier"];
    }
  }
  const double fault_seconds = std::chrono::duration<double>(Clock::now() - faults_start).count();
  buyer.StopOrdering();

  // Every job ends, within the bound.
  const auto settle_start = Clock::now();
  auto chain = std::make_shared<ledger::NodeClient>(
      p.node_address(), ledger::TrustAnchor{genesis.chain_id, genesis.proposer});
  client::ChainReader reader(chain);
  auto all_terminal = [&] {
    for (const Hash256& id : buyer.jobs()) {
      auto j = reader.Job(id);
      if (!j.ok() || !j->has_value() || !Terminal((*j)->state())) return false;
    }
    return true;
  };
  bool ended = false;
  while (Clock::now() - settle_start < kSettleBound && !(ended = all_terminal())) {
    std::this_thread::sleep_for(500ms);
  }
  buyer.Join();
  ended = ended || all_terminal();
  const auto jobs = buyer.jobs();
  std::map<jobs::v1::JobState, int> states;
  for (const Hash256& id : jobs) {
    auto j = reader.Job(id);
    states[j.ok() && j->has_value() ? (*j)->state() : jobs::v1::JOB_STATE_UNSPECIFIED]++;
  }
  std::string summary;
  for (auto& [st, n] : states)
    summary += jobs::v1::JobState_Name(st) + "=" + std::to_string(n) + " ";
  MESSAGE("kills: node " << count["node"] << ", node outages " << count["node outage"]
                         << ", provider " << count["provider"] << ", verifier " << count["verifier"]
                         << "; provider link cut " << count["provider link cut"] << " times ("
                         << p.provider_link()->accepted() << " connections through it, "
                         << p.provider_link()->refused() << " refused)"
                         << " in " << fault_seconds << " s; jobs " << jobs.size() << ": " << summary
                         << "; ended after "
                         << std::chrono::duration<double>(Clock::now() - settle_start).count()
                         << " s; " << buyer.uploads() << " uploads");
  CHECK(count["node"] + count["node outage"] + count["provider"] + count["verifier"] == kills);
  if (kills > kOutageEvery / 2) {
    // The link was cut, and the provider came back through it afterwards.
    CHECK(count["provider link cut"] >= 1);
    CHECK(p.provider_link()->accepted() > static_cast<uint64_t>(count["provider"]) + 1);
  }
  CHECK((corrupted || corrupt_at == 0 || corrupt_at > kills));
  CHECK(jobs.size() >= 3);
  CHECK_MESSAGE(ended, "not every job ended within the bound\n" << p.Logs());
  CHECK(states[jobs::v1::JOB_STATE_SETTLED] >= 1);

  // Nothing the buyer saw committed is lost.
  const auto seen = buyer.seen();
  for (const SeenTx& t : seen) {
    auto got = chain->GetTx(t.id);  // proven against the signed header
    REQUIRE_MESSAGE(got.ok(), got.status().ToString());
    CHECK(got->height() == t.height);
    CHECK(got->index() == t.index);
    CHECK(got->result().SerializeAsString() == t.result);
  }

  // The whole history, verified block by block.
  auto status = chain->GetStatus();
  REQUIRE(status.ok());
  const uint64_t height = status->height();
  std::map<std::string, int64_t> delta;  // bech32m account -> sum of what moved
  const std::string fee_collector =
      EncodeAddress(contracts::Bank::ModuleAccount(contracts::Bank::kFeeCollector));
  const std::string provider = EncodeAddress(lt::TestKey(kProvider).PublicKey());
  std::map<std::string, int> settled;                            // job -> jobs.settled events
  std::map<std::pair<std::string, std::string>, int> committed;  // (job, attempt) -> commits
  std::map<std::string, std::string> attempt;                    // job -> its current attempt
  uint64_t provider_paid = 0, provider_fees = 0, provider_slashed = 0;
  std::vector<std::string> incidents;  // why jobs did not simply settle, for the log
  auto account = [&](const types::v1::Event& e) {
    if (e.type() == contracts::Bank::kTransferEvent) {
      const uint64_t amount = U64(Attr(e, "amount"));
      delta[Attr(e, "sender")] -= static_cast<int64_t>(amount);
      delta[Attr(e, "recipient")] += static_cast<int64_t>(amount);
    } else if (e.type() == "jobs.assigned") {
      attempt[Attr(e, "job_id")] = Attr(e, "attempt");
    } else if (e.type() == "jobs.committed") {
      ++committed[{Attr(e, "job_id"), attempt[Attr(e, "job_id")]}];
    } else if (e.type() == "jobs.settled") {
      ++settled[Attr(e, "job_id")];
      if (Attr(e, "provider") == provider) provider_paid += U64(Attr(e, "provider_paid"));
    } else if (e.type() == "staking.slash" && Attr(e, "account") == provider) {
      provider_slashed += U64(Attr(e, "amount"));
    }
    if (e.type() == "jobs.slashed" || e.type() == "jobs.expired" ||
        e.type() == "jobs.verifier_replaced" || e.type() == "jobs.disputed") {
      std::string line = e.type();
      for (const auto& a : e.attributes()) {
        if (a.key() == "reason" || a.key() == "kind" || a.key() == "next" || a.key() == "segment") {
          line += " " + a.key() + "=" + a.value();
        }
      }
      incidents.push_back(line);
    }
  };
  for (uint64_t h = 1; h <= height; ++h) {
    auto block = chain->GetBlock(h);  // signature, tx root and results verified
    REQUIRE_MESSAGE(block.ok(), block.status().ToString());
    const auto& results = block->results();
    for (const auto& e : results.begin_block_events()) account(e);
    REQUIRE(results.tx_results_size() == block->block().txs_size());
    for (int i = 0; i < block->block().txs_size(); ++i) {
      const std::string& bytes = block->block().txs(i);
      ledger::DecodedTx tx;
      REQUIRE(ledger::DecodeTx(AsBytes(bytes), 1 << 24, &tx).ok());
      const auto& r = results.tx_results(i);
      const std::string signer = EncodeAddress(tx.signer);
      delta[signer] -= static_cast<int64_t>(r.fee());
      delta[fee_collector] += static_cast<int64_t>(r.fee());
      if (signer == provider) provider_fees += r.fee();
      for (const auto& e : r.events()) account(e);
    }
    for (const auto& e : results.end_block_events()) account(e);
  }
  std::string why;
  for (const auto& i : incidents) why += "\n  " + i;
  MESSAGE("incidents:" << why);
  // The provider is honest: it is slashed only for openings it could not give because the
  // test damaged its disk (it drops a damaged blob, and nothing asks the buyer for it again
  // once the job is committed), never for crashes or outages.
  for (const auto& i : incidents) {
    if (i.rfind("jobs.slashed", 0) == 0) {
      CHECK_MESSAGE(corrupted, i);
      CHECK_MESSAGE(i.find("reason=withheld opening") != std::string::npos, i);
    }
  }
  for (const auto& [job, n] : settled) CHECK_MESSAGE(n == 1, "job " << job << " settled " << n);
  for (const auto& [key, n] : committed) {
    CHECK_MESSAGE(n == 1, "job " << key.first << " attempt " << key.second << " committed " << n);
  }
  CHECK(settled.size() == static_cast<size_t>(states[jobs::v1::JOB_STATE_SETTLED]));

  // Balances: genesis + what the history moved = what the chain proves, for every account the
  // history touched; nothing created or destroyed.
  int64_t total = 0;
  for (const auto& [address, d] : delta) {
    total += d;
    auto key = DecodeAddress(address);
    REQUIRE_MESSAGE(key.ok(), address);
    auto balance = reader.Balance(*key);
    REQUIRE(balance.ok());
    const bool party = address == EncodeAddress(lt::TestKey(1).PublicKey()) ||
                       address == EncodeAddress(lt::TestKey(2).PublicKey()) ||
                       address == EncodeAddress(lt::TestKey(3).PublicKey());
    const int64_t genesis_balance = party ? static_cast<int64_t>(testing::kMarketFunds) : 0;
    CHECK_MESSAGE(static_cast<int64_t>(*balance) == genesis_balance + d, address);
  }
  CHECK(total == 0);
  auto supply = chain->QueryStore(contracts::Bank::SupplyKey());
  REQUIRE(supply.ok());
  REQUIRE(supply->second.has_value());
  CHECK(GetU64LE(supply->second->data()) == 3 * testing::kMarketFunds);

  // The provider's gain: its settlements, less its fees and slashes.
  auto stake = reader.Stake(lt::TestKey(kProvider).PublicKey());
  REQUIRE(stake.ok());
  auto provider_balance = reader.Balance(lt::TestKey(kProvider).PublicKey());
  REQUIRE(provider_balance.ok());
  const int64_t gain =
      static_cast<int64_t>(*provider_balance + stake->bonded() + stake->unbonding()) -
      static_cast<int64_t>(testing::kMarketFunds);
  MESSAGE("height " << height << ", " << seen.size() << " buyer transactions; provider paid "
                    << provider_paid << ", fees " << provider_fees << ", slashed "
                    << provider_slashed << ", gain " << gain);
  CHECK(gain == static_cast<int64_t>(provider_paid) - static_cast<int64_t>(provider_fees) -
                    static_cast<int64_t>(provider_slashed));
}

}  // namespace
}  // namespace probity::verifierd
