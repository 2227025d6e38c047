// `probity provider` as a process against a `probity node` process on loopback, with the test
// as the buyer (client::TxSender and ProviderClient): the offer goes up; an order is matched,
// its spec uploaded, the job computed and committed; the result verifies against the chain's
// commitment and reaches only the buyer; a provider killed mid-job completes it after a restart
// with exactly one MsgCommit on chain; a provider that cheats on a segment answers the
// challenge itself and is slashed by the chain's re-execution.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "node_harness.h"
#include "probity/client/chain.h"
#include "probity/client/provider_client.h"
#include "probity/contracts/market.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/types/v1/tx.pb.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"
#include "provider_harness.h"

namespace probity::provider {
namespace {

namespace lt = ledger::testing;
using testing::ProviderProcess;
using workloads::JobSpec;

const std::string kFixtures = std::string(PROBITY_TEST_DATA_DIR) + "/workloads";

std::string FixtureDatasetHex() {
  auto d = workloads::LoadIdxDataset(kFixtures + "/fmnist512-train-images-idx3-ubyte",
                                     kFixtures + "/fmnist512-train-labels-idx1-ubyte");
  REQUIRE(d.ok());
  return ToHex(d->id);
}

// An MLP on 512 examples; `dataset` a hex id or a Fashion-MNIST name.
JobSpec Spec(const std::string& dataset, const std::string& hidden, uint32_t batch, uint32_t epochs,
             uint32_t steps_per_segment) {
  auto spec = workloads::ParseJobSpec(
      "kind = \"train-classifier\"\ndataset = \"" + dataset +
      "\"\nexamples = 512\narchitecture = \"mlp\"\nhidden = " + hidden +
      "\noptimizer = \"adam\"\nlearning_rate = 0.001\nlearning_rate_decay = 1\nbeta1 = 0.9\n"
      "beta2 = 0.999\nepsilon = 1e-8\nbatch_size = " +
      std::to_string(batch) + "\nepochs = " + std::to_string(epochs) +
      "\nseed = 5\nsteps_per_segment = " + std::to_string(steps_per_segment) +
      "\naugment = \"none\"\n");
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  return *spec;
}

template <typename Pred>
bool WaitFor(Pred pred, int seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// A chain, a provider on it, and the test as the buyer (TestKey(1)); the provider is
// TestKey(2), a stranger TestKey(3).
class Market {
 public:
  explicit Market(std::vector<std::string> provider_env = {})
      : provider_env_(std::move(provider_env)) {
    REQUIRE(lt::InitHome(home_, {"--fund", lt::FundFlag(3, 10'000'000'000)}).ok());
    REQUIRE(testing::WriteTestKey(home_, "provider", lt::TestKey(2)).ok());
    auto node = lt::NodeProcess::Start(home_, {"--block-interval-ms", "20"});
    REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    node_ = std::move(node).value();
    genesis_ = *ledger::LoadGenesisFile(home_ + "/config/genesis.json");
    client_ = node_->Client();
    chain_ = std::make_unique<client::ChainReader>(client_);
    buyer_ = std::make_unique<client::TxSender>(client_, genesis_, lt::TestKey(1));
    listen_ = "127.0.0.1:" + std::to_string(testing::FreePort());
    StartProvider();
  }

  void StartProvider() {
    auto p = ProviderProcess::Start(
        home_,
        {"--key", "provider", "--node", node_->address(), "--listen", listen_, "--backend", "cpu",
         "--capacity", "1", "--price", "train-classifier=5", "--bond", "2000000", "--data-dir",
         kFixtures, "--metrics", "127.0.0.1:0"},
        provider_env_);
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    provider_ = std::move(p).value();
  }
  void KillProvider() {
    provider_->process().Signal(SIGKILL);
    provider_->process().Wait();
  }

  // The provider's open offers on chain.
  std::vector<market::v1::Offer> Offers() {
    market::v1::QueryProviderRequest req;
    const XOnlyPubKey p = lt::TestKey(2).PublicKey();
    req.set_address(std::string(p.begin(), p.end()));
    auto reply = client_->QueryModule("market/provider", AsBytes(req.SerializeAsString()));
    std::vector<market::v1::Offer> open;
    market::v1::QueryProviderResponse resp;
    if (reply.ok() && resp.ParseFromArray(reply->data(), static_cast<int>(reply->size()))) {
      for (const auto& o : resp.offers()) {
        if (!o.closed()) open.push_back(o);
      }
    }
    return open;
  }

  // Places an order for `spec` and waits for its assignment.
  Hash256 Order(const JobSpec& spec, verifier::Secret* secret_out = nullptr) {
    REQUIRE(WaitFor([&] { return Offers().size() == 1; }, 30));
    verifier::Secret secret{};
    secret[0] = 42;
    if (secret_out) *secret_out = secret;
    market::v1::MsgPlaceOrder m;
    m.set_kind(market::v1::JOB_KIND_TRAIN_CLASSIFIER);
    const Hash256 input = workloads::JobInputHash(spec);
    m.set_input_hash(std::string(input.begin(), input.end()));
    m.set_units(*workloads::JobUnits(spec));
    m.set_max_price_per_unit(10);
    m.set_verification_level(4);
    m.set_deadline_blocks(5000);
    const Hash256 commitment = verifier::SecretCommitment(secret);
    m.set_secret_commitment(std::string(commitment.begin(), commitment.end()));
    m.set_self_verify(true);
    m.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
    m.set_expires_at(*chain_->Height() + 10000);
    auto sent = buyer_->Send(m);
    REQUIRE_MESSAGE(sent.ok(), sent.status().ToString());
    const Hash256 id = contracts::Market::OrderId(sent->tx_id);
    REQUIRE(WaitFor([&] { return State(id) == jobs::v1::JOB_STATE_ASSIGNED; }, 20));
    return id;
  }

  std::optional<jobs::v1::Job> Job(const Hash256& id) {
    auto j = chain_->Job(id);
    return j.ok() ? *j : std::nullopt;
  }
  jobs::v1::JobState State(const Hash256& id) {
    auto j = Job(id);
    return j ? j->state() : jobs::v1::JOB_STATE_UNSPECIFIED;
  }

  // A client for the provider the chain assigned the job to (its offer's endpoint).
  std::unique_ptr<client::ProviderClient> ProviderFor(const Hash256& id) {
    auto job = Job(id);
    REQUIRE(job);
    Hash256 offer_id;
    std::copy(job->offer_id().begin(), job->offer_id().end(), offer_id.begin());
    auto offer = chain_->Offer(offer_id);
    REQUIRE(offer.ok());
    REQUIRE(offer->has_value());
    XOnlyPubKey key;
    std::copy(job->provider().begin(), job->provider().end(), key.begin());
    return std::make_unique<client::ProviderClient>((*offer)->endpoint(), key);
  }

  workloads::JobCommitment Commitment(const Hash256& id, const JobSpec& spec) {
    auto j = Job(id);
    REQUIRE(j);
    workloads::JobCommitment c;
    c.job_input_hash = workloads::JobInputHash(spec);
    std::copy(j->output_hash().begin(), j->output_hash().end(), c.output_hash.begin());
    std::copy(j->trace_root().begin(), j->trace_root().end(), c.trace_root.begin());
    c.segment_count = j->segment_count();
    return c;
  }

  // MsgCommit transactions for `job` in every block (refused ones included), and how many
  // succeeded.
  std::pair<int, int> Commits(const Hash256& job) {
    int sent = 0, ok = 0;
    const uint64_t height = *chain_->Height();
    for (uint64_t h = 1; h <= height; ++h) {
      auto block = client_->GetBlock(h);
      REQUIRE(block.ok());
      for (int i = 0; i < block->block().txs_size(); ++i) {
        types::v1::SignedTx tx;
        types::v1::TxBody body;
        REQUIRE(tx.ParseFromString(block->block().txs(i)));
        REQUIRE(body.ParseFromString(tx.body()));
        if (body.msg().type_url() != "probity.jobs.v1.MsgCommit") continue;
        jobs::v1::MsgCommit c;
        REQUIRE(c.ParseFromString(body.msg().value()));
        if (c.job_id() != std::string(job.begin(), job.end())) continue;
        ++sent;
        ok += block->results().tx_results(i).code() == 0;
      }
    }
    return {sent, ok};
  }

  lt::TempDir dir_;
  std::string home_ = dir_.path() + "/home";
  std::vector<std::string> provider_env_;
  std::string listen_;
  std::unique_ptr<lt::NodeProcess> node_;
  ledger::Genesis genesis_;
  std::shared_ptr<const ledger::NodeClient> client_;
  std::unique_ptr<client::ChainReader> chain_;
  std::unique_ptr<client::TxSender> buyer_;
  std::unique_ptr<ProviderProcess> provider_;
};

TEST_CASE("an order is matched, computed and committed, and the result reaches only the buyer") {
  Market m;
  auto offers = m.Offers();
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].endpoint() == m.listen_);
  CHECK(offers[0].hardware().gpu_model() == "cpu");
  CHECK(offers[0].hardware().throughput() > 0);
  REQUIRE(offers[0].prices_size() == 1);
  CHECK(offers[0].prices(0).price_per_unit() == 5);

  const JobSpec spec = Spec(FixtureDatasetHex(), "[32]", 32, 2, 4);  // 32 steps, 8 segments
  const Hash256 job = m.Order(spec);
  auto provider = m.ProviderFor(job);
  const SecretKey buyer = lt::TestKey(1), stranger = lt::TestKey(3);
  auto up =
      provider->Upload(buyer, job, provider::v1::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec));
  REQUIRE_MESSAGE(up.ok(), up.status().ToString());
  CHECK(up->job_ready());
  // A stranger may not upload (nor see the job).
  CHECK(
      provider->Upload(stranger, job, provider::v1::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec))
          .status()
          .code() == Code::kPermissionDenied);
  REQUIRE(WaitFor([&] { return m.State(job) == jobs::v1::JOB_STATE_COMMITTED; }, 30));

  const workloads::JobCommitment c = m.Commitment(job, spec);
  CHECK(c.segment_count == 8);
  auto result = provider->DownloadResult(buyer, job, 64 << 20);
  REQUIRE_MESSAGE(result.ok(), result.status().ToString());
  auto verified = workloads::VerifyJobResult(spec, c.output_hash, *result);
  CHECK_MESSAGE(verified.ok(), verified.status().ToString());
  // The wrong party is refused.
  CHECK(provider->DownloadResult(stranger, job, 64 << 20).status().code() ==
        Code::kPermissionDenied);
  CHECK(provider->JobStatus(stranger, job).status().code() == Code::kPermissionDenied);
  auto status = provider->JobStatus(buyer, job);
  REQUIRE(status.ok());
  CHECK(status->phase() == "committed");

  // An opening checks out by re-execution.
  auto bytes = provider->GetOpening(buyer, job, 5);
  REQUIRE_MESSAGE(bytes.ok(), bytes.status().ToString());
  workloads::DataCatalog catalog("/nonexistent");
  catalog.Add(std::make_shared<const workloads::Dataset>(
      *workloads::LoadIdxDataset(kFixtures + "/fmnist512-train-images-idx3-ubyte",
                                 kFixtures + "/fmnist512-train-labels-idx1-ubyte")));
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
  CHECK(workloads::CheckSegment(*workloads::DecodeOpening(*bytes), c, *cpu, catalog).ok());
  CHECK(m.Commits(job) == std::make_pair(1, 1));

  // The provider's metrics say so too.
  auto metrics_addr = ledger::ReadFileToString(m.home_ + "/provider/metrics.addr");
  REQUIRE(metrics_addr.ok());
}

TEST_CASE("a provider killed mid-job completes it after a restart, committing exactly once") {
  Market m;
  // About 2,400 steps of a 784-256-128-10 MLP: several seconds on two cores.
  const JobSpec spec = Spec(FixtureDatasetHex(), "[256, 128]", 64, 300, 20);
  const Hash256 job = m.Order(spec);
  const SecretKey buyer = lt::TestKey(1);
  auto provider = m.ProviderFor(job);
  REQUIRE(provider->Upload(buyer, job, provider::v1::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec))
              .ok());
  // Kill it once some, not all, segments are done.
  bool caught = WaitFor(
      [&] {
        auto s = provider->JobStatus(buyer, job);
        return s.ok() && s->phase() == "running" && s->segments_done() >= 2 &&
               s->segments_done() + 10 < s->segment_count();
      },
      30);
  REQUIRE_MESSAGE(caught, "the job was not caught mid-run; provider log:\n" << m.provider_->Log());
  m.KillProvider();
  CHECK(m.State(job) == jobs::v1::JOB_STATE_ASSIGNED);

  m.StartProvider();
  REQUIRE_MESSAGE(WaitFor([&] { return m.State(job) == jobs::v1::JOB_STATE_COMMITTED; }, 45),
                  m.provider_->Log());
  CHECK(m.provider_->Log().find("running it again") != std::string::npos);
  CHECK(m.Commits(job) == std::make_pair(1, 1));
  // The same offer, reused (same endpoint and hardware), no duplicate.
  CHECK(m.Offers().size() == 1);
  auto result = m.ProviderFor(job)->DownloadResult(buyer, job, 64 << 20);
  REQUIRE(result.ok());
  CHECK(workloads::VerifyJobResult(spec, m.Commitment(job, spec).output_hash, *result).ok());
  // A second restart after the commit sends nothing more.
  m.KillProvider();
  m.StartProvider();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(m.Commits(job) == std::make_pair(1, 1));
}

TEST_CASE("a provider that corrupts a segment answers the challenge itself and is slashed") {
  if (!std::filesystem::exists(std::string(workloads::kFashionMnistDir) +
                               "/train-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");
    return;
  }
  // The chain's referee re-executes with Fashion-MNIST proper, so the job trains on it.
  Market m({"PROBITY_TEST_PROVIDER_FAULT=corrupt-segment:1"});
  const JobSpec spec = Spec("fashion-mnist-train", "[32]", 32, 1, 4);  // 16 steps, 4 segments
  const Hash256 job = m.Order(spec);
  const SecretKey buyer = lt::TestKey(1);
  auto provider = m.ProviderFor(job);
  REQUIRE(provider->Upload(buyer, job, provider::v1::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec))
              .ok());
  REQUIRE(WaitFor([&] { return m.State(job) == jobs::v1::JOB_STATE_COMMITTED; }, 30));
  const workloads::JobCommitment c = m.Commitment(job, spec);

  // The buyer's own check finds the corrupted segment, and only it.
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
  for (uint64_t seg = 0; seg < c.segment_count; ++seg) {
    CAPTURE(seg);
    auto bytes = provider->GetOpening(buyer, job, seg);
    REQUIRE(bytes.ok());
    Status s = workloads::CheckSegment(*workloads::DecodeOpening(*bytes), c, *cpu);
    CHECK((s.code() == Code::kCorruption) == (seg == 1));
  }

  jobs::v1::MsgChallenge challenge;
  challenge.set_job_id(std::string(job.begin(), job.end()));
  challenge.set_segment(1);
  auto sent = m.buyer_->Send(challenge);
  REQUIRE_MESSAGE(sent.ok(), sent.status().ToString());
  // The provider posts the opening by itself; the chain re-executes it and convicts.
  REQUIRE_MESSAGE(WaitFor([&] { return m.State(job) == jobs::v1::JOB_STATE_SLASHED; }, 45),
                  m.provider_->Log());
  auto j = m.Job(job);
  REQUIRE(j);
  CHECK(j->dispute().outcome() == jobs::v1::DISPUTE_OUTCOME_PROVIDER_SLASHED);
  CHECK(j->dispute().recomputed_output_hash().size() == 32);  // an opening was posted
  CHECK(WaitFor(
      [&] {
        return m.provider_->Log().find("dispute answered with an on-chain opening") !=
               std::string::npos;
      },
      10));
  CHECK(WaitFor([&] { return m.provider_->Log().find("job slashed") != std::string::npos; }, 10));
}

}  // namespace
}  // namespace probity::provider
