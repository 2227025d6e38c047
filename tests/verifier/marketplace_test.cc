// The whole verified flow as processes: `probity node`, `probity provider`, `probity verifier`,
// with this test as the buyer (client::TxSender, ProviderClient). A small Fashion-MNIST training
// job is ordered with every segment sampled; the provider computes and commits it, the buyer
// reveals, the verifier fetches the openings from the provider, re-executes them and attests.
// Honest: VERIFIED, then SETTLED, everyone paid. With the provider's test fault
// PROBITY_TEST_PROVIDER_FAULT=corrupt-segment:1: the verifier reports the mismatch, the provider
// must open the segment on chain, the chain's re-execution convicts it: SLASHED, the buyer
// refunded in full.
#include <doctest/doctest.h>

#include <thread>

#include "market_harness.h"
#include "node_harness.h"
#include "probity/client/chain.h"
#include "probity/client/provider_client.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/ledger/node_home.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"
#include "provider_harness.h"
#include "verifier_harness.h"

namespace probity::verifierd {
namespace {

namespace lt = ledger::testing;
using provider::testing::ProviderProcess;
using testing::ScrapeMetric;
using testing::VerifierProcess;

using testing::HaveFashionMnist;
using testing::kBuyer;
using testing::kProvider;
using testing::kVerifier;
constexpr int kDownVerifier = 4;  // bonded in the rotation, but no daemon runs for it
constexpr uint32_t kSegments = testing::kTinySegments;
constexpr uint64_t kFee = 1000;  // the market's default verify_fee_per_sample
constexpr uint64_t kPrice = testing::kProviderPrice;
constexpr uint64_t kTxFee = 1;  // the genesis' min_fee

template <typename Pred>
bool WaitFor(Pred pred, int seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// The chain re-executes disputed segments with Fashion-MNIST proper, and so does the verifier:
// the job trains on it.
workloads::JobSpec Spec() {
  auto spec = testing::TinyTrainSpec();
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  return *spec;
}

class Market {
 public:
  // `attest_window`: blocks a verifier has to attest (0: the default).
  explicit Market(std::vector<std::string> provider_env = {}, uint64_t attest_window = 0) {
    // Windows are counted in blocks: empty blocks keep the chain moving, and the challenge
    // window before settlement is shortened from its default of 600 blocks.
    const Status prepared = testing::PrepareMarketHome(
        home_, {.funded_accounts = 4, .attest_window_blocks = attest_window});
    REQUIRE_MESSAGE(prepared.ok(), prepared.ToString());
    ledger::NodeHome h{home_};
    auto node = lt::NodeProcess::Start(home_, {"--block-interval-ms", "20"});
    REQUIRE_MESSAGE(node.ok(), node.status().ToString());
    node_ = std::move(node).value();
    genesis_ = *ledger::LoadGenesisFile(h.genesis_file());
    client_ = node_->Client();
    chain_ = std::make_unique<client::ChainReader>(client_);
    buyer_ = std::make_unique<client::TxSender>(client_, genesis_, lt::TestKey(kBuyer));

    auto v = VerifierProcess::Start(home_, "verifier", node_->address());
    REQUIRE_MESSAGE(v.ok(), v.status().ToString());
    verifier_ = std::move(v).value();
    auto p = ProviderProcess::Start(
        home_, testing::MarketProviderArgs(node_->address(), provider::testing::FreePort()),
        provider_env);
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    provider_ = std::move(p).value();
  }

  uint64_t Balance(int account) {
    return chain_->Balance(lt::TestKey(account).PublicKey()).value();
  }
  std::optional<jobs::v1::Job> Job(const Hash256& id) {
    auto j = chain_->Job(id);
    return j.ok() ? *j : std::nullopt;
  }
  jobs::v1::JobState State(const Hash256& id) {
    auto j = Job(id);
    return j ? j->state() : jobs::v1::JOB_STATE_UNSPECIFIED;
  }
  bool WaitState(const Hash256& id, jobs::v1::JobState s, int seconds = 60) {
    return WaitFor([&] { return State(id) == s; }, seconds);
  }
  std::string Logs() {
    return "--- provider ---\n" + provider_->Log() + "\n--- verifier ---\n" + verifier_->Log();
  }

  // Orders the job with every segment sampled, uploads its spec to the assigned provider, and
  // reveals the secret once it committed. Returns the job id.
  Hash256 OrderAndReveal(const workloads::JobSpec& spec) {
    REQUIRE(WaitFor([&] { return Balance(kProvider) < 10'000'000'000 - 2'000'000; }, 30));
    verifier::Secret secret{};
    secret[0] = 7;
    units_ = *workloads::JobUnits(spec);
    // The provider's offer may still be on its way: the order rests in the book until then.
    const market::v1::MsgPlaceOrder m = testing::TrainOrder(
        spec, secret, kSegments, /*deadline_blocks=*/5000, *chain_->Height() + 20000);
    auto sent = buyer_->Send(m);
    REQUIRE_MESSAGE(sent.ok(), sent.status().ToString());
    const Hash256 id = contracts::Market::OrderId(sent->tx_id);
    REQUIRE_MESSAGE(WaitState(id, jobs::v1::JOB_STATE_ASSIGNED, 30), Logs());

    auto job = *Job(id);
    Hash256 offer_id;
    std::copy(job.offer_id().begin(), job.offer_id().end(), offer_id.begin());
    auto offer = chain_->Offer(offer_id).value();
    REQUIRE(offer.has_value());
    XOnlyPubKey provider_key;
    std::copy(job.provider().begin(), job.provider().end(), provider_key.begin());
    client::ProviderClient provider(offer->endpoint(), provider_key);
    auto up = provider.Upload(lt::TestKey(kBuyer), id, provider::v1::BLOB_ROLE_SPEC,
                              workloads::EncodeJobSpec(spec));
    REQUIRE_MESSAGE(up.ok(), up.status().ToString());

    REQUIRE_MESSAGE(WaitState(id, jobs::v1::JOB_STATE_COMMITTED), Logs());
    const uint64_t from = Job(id)->commit_height() + 2;
    REQUIRE(WaitFor([&] { return *chain_->Height() >= from; }, 10));
    jobs::v1::MsgReveal reveal;
    reveal.set_job_id(std::string(id.begin(), id.end()));
    reveal.set_secret(std::string(secret.begin(), secret.end()));
    auto revealed = buyer_->Send(reveal);
    REQUIRE_MESSAGE(revealed.ok(), revealed.status().ToString());
    return id;
  }

  uint64_t units_ = 0;
  lt::TempDir dir_;
  std::string home_ = dir_.path() + "/home";
  std::unique_ptr<lt::NodeProcess> node_;
  ledger::Genesis genesis_;
  std::shared_ptr<const ledger::NodeClient> client_;
  std::unique_ptr<client::ChainReader> chain_;
  std::unique_ptr<client::TxSender> buyer_;
  std::unique_ptr<VerifierProcess> verifier_;
  std::unique_ptr<ProviderProcess> provider_;
};

TEST_CASE("node, provider and verifier processes: a job verified by the verifier, then settled") {
  if (!HaveFashionMnist()) {
    MESSAGE("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");
    return;
  }
  Market m;
  const uint64_t verifier0 = m.Balance(kVerifier);
  const uint64_t provider0 = m.Balance(kProvider);
  const Hash256 id = m.OrderAndReveal(Spec());
  auto job = m.Job(id);
  REQUIRE(job);
  CHECK(job->sample_size() == static_cast<int>(kSegments));
  const XOnlyPubKey verifier = lt::TestKey(kVerifier).PublicKey();
  CHECK(job->verifier() == std::string(verifier.begin(), verifier.end()));
  REQUIRE_MESSAGE(m.WaitState(id, jobs::v1::JOB_STATE_VERIFIED), m.Logs());
  CHECK(m.Job(id)->attested());
  REQUIRE_MESSAGE(m.WaitState(id, jobs::v1::JOB_STATE_SETTLED), m.Logs());
  // The verifier: k fees, less its attestation's transaction fee.
  CHECK(m.Balance(kVerifier) == verifier0 + kSegments * kFee - kTxFee);
  // The provider: the trade price for every unit (its own transactions cost it fees).
  CHECK(m.Balance(kProvider) > provider0);
  CHECK(m.Balance(kProvider) <= provider0 + kPrice * m.units_);
  const std::string metrics = m.verifier_->metrics_address();
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_passed_total") == std::to_string(kSegments));
  CHECK(ScrapeMetric(metrics, "probity_verifier_attestations_sent_total") == "1");
}

TEST_CASE(
    "node, provider and verifier processes: a corrupted segment is found, the provider "
    "slashed, the buyer refunded") {
  if (!HaveFashionMnist()) {
    MESSAGE("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");
    return;
  }
  Market m({"PROBITY_TEST_PROVIDER_FAULT=corrupt-segment:1"});
  const uint64_t buyer0 = m.Balance(kBuyer);
  const Hash256 id = m.OrderAndReveal(Spec());
  // The verifier re-executes segment 1 to another hash and reports it: a dispute the provider
  // must answer with the opening on chain, which the chain re-executes and convicts.
  REQUIRE_MESSAGE(m.WaitState(id, jobs::v1::JOB_STATE_SLASHED, 90), m.Logs());
  auto job = m.Job(id);
  REQUIRE(job);
  CHECK(job->dispute().kind() == jobs::v1::DISPUTE_KIND_MISMATCH);
  CHECK(job->dispute().segment() == 1);
  const XOnlyPubKey verifier = lt::TestKey(kVerifier).PublicKey();
  CHECK(job->dispute().challenger() == std::string(verifier.begin(), verifier.end()));
  CHECK(job->dispute().outcome() == jobs::v1::DISPUTE_OUTCOME_PROVIDER_SLASHED);
  CHECK(job->dispute().recomputed_output_hash().size() == 32);  // the provider posted it
  // Refunded in full: the buyer paid only its two transactions' fees (order, reveal).
  CHECK(m.Balance(kBuyer) == buyer0 - 2 * kTxFee);
  const std::string metrics = m.verifier_->metrics_address();
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_failed_total") == "1");
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_passed_total") ==
        std::to_string(kSegments - 1));
}

TEST_CASE(
    "node, provider and verifier processes: a verifier that is down is replaced after its "
    "attest window, and the job still settles verified") {
  if (!HaveFashionMnist()) {
    MESSAGE("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped");
    return;
  }
  Market m({}, /*attest_window=*/150);
  // A second verifier with fifty times the running one's stake: the rotation (stake-weighted)
  // almost always picks it first. It never runs.
  client::TxSender down(m.client_, m.genesis_, lt::TestKey(kDownVerifier));
  staking::v1::MsgBond bond;
  bond.set_amount(100'000'000);
  REQUIRE(down.Send(bond).ok());
  staking::v1::MsgSetVerifier join;
  join.set_enabled(true);
  REQUIRE(down.Send(join).ok());
  const XOnlyPubKey down_key = lt::TestKey(kDownVerifier).PublicKey();
  const std::string down_account(down_key.begin(), down_key.end());
  const XOnlyPubKey up_key = lt::TestKey(kVerifier).PublicKey();
  const std::string up_account(up_key.begin(), up_key.end());

  // Order until a job's first verifier is the one that is down (nearly always the first).
  std::optional<Hash256> id;
  for (int attempt = 0; attempt < 4 && !id; ++attempt) {
    const Hash256 candidate = m.OrderAndReveal(Spec());
    REQUIRE(
        WaitFor([&] { return m.Job(candidate) && m.Job(candidate)->verifier().size() == 32; }, 30));
    if (m.Job(candidate)->verifier() == down_account) {
      id = candidate;
    } else {
      REQUIRE_MESSAGE(m.WaitState(candidate, jobs::v1::JOB_STATE_SETTLED, 90), m.Logs());
    }
  }
  REQUIRE_MESSAGE(id.has_value(), "the down verifier was never picked");
  const uint64_t down_stake0 = m.chain_->Stake(down_key)->bonded();

  // The window passes: the down verifier is penalised and excluded, the running one is picked
  // for round 2, checks the sample and attests.
  REQUIRE_MESSAGE(m.WaitState(*id, jobs::v1::JOB_STATE_SETTLED, 120), m.Logs());
  auto job = m.Job(*id);
  REQUIRE(job);
  CHECK(job->attested());
  CHECK(job->verifier() == up_account);
  CHECK(job->verifier_round() >= 2);
  bool excluded = false;
  for (const auto& v : job->excluded_verifiers()) excluded = excluded || v == down_account;
  CHECK(excluded);
  CHECK(m.chain_->Stake(down_key)->bonded() < down_stake0);
}

}  // namespace
}  // namespace probity::verifierd
