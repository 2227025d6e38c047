#include "market_harness.h"

#include <filesystem>

#include "node_harness.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/module_state.h"
#include "probity/ledger/node_home.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"
#include "provider_harness.h"

namespace probity::verifierd::testing {

namespace lt = ledger::testing;

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(workloads::kFashionMnistDir) +
                                 "/train-images-idx3-ubyte.gz");
}

Result<workloads::JobSpec> TinyTrainSpec(uint64_t seed) {
  return workloads::ParseJobSpec(
      "kind = \"train-classifier\"\ndataset = \"fashion-mnist-train\"\nexamples = 512\n"
      "architecture = \"mlp\"\nhidden = [32]\noptimizer = \"sgd-momentum\"\n"
      "learning_rate = 0.05\nlearning_rate_decay = 1\nmomentum = 0.9\nbatch_size = 32\n"
      "epochs = 1\nseed = " +
      std::to_string(seed) + "\nsteps_per_segment = 4\naugment = \"none\"\n");
}

Status PrepareMarketHome(const std::string& home, const MarketHomeOptions& options) {
  PROBITY_RETURN_IF_ERROR(
      lt::InitHome(home, {"--fund", lt::FundFlag(options.funded_accounts, kMarketFunds)}));
  PROBITY_RETURN_IF_ERROR(
      provider::testing::WriteTestKey(home, "provider", lt::TestKey(kProvider)));
  PROBITY_RETURN_IF_ERROR(
      provider::testing::WriteTestKey(home, "verifier", lt::TestKey(kVerifier)));
  ledger::NodeHome h{home};
  PROBITY_ASSIGN_OR_RETURN(std::string config, ledger::ReadFileToString(h.config_file()));
  const std::string never = "empty_block_interval_ms = 0";
  const size_t at = config.find(never);
  if (at == std::string::npos) return Status::Internal("the default config changed: " + never);
  config.replace(at, never.size(), "empty_block_interval_ms = 20");
  PROBITY_RETURN_IF_ERROR(ledger::WriteFileAtomically(h.config_file(), config));
  PROBITY_ASSIGN_OR_RETURN(ledger::Genesis genesis, ledger::LoadGenesisFile(h.genesis_file()));
  jobs::v1::GenesisState jobs;
  *jobs.mutable_params() = contracts::Jobs::DefaultParams();
  jobs.mutable_params()->set_challenge_window_blocks(options.challenge_window_blocks);
  if (options.attest_window_blocks != 0) {
    jobs.mutable_params()->set_attest_window_blocks(options.attest_window_blocks);
  }
  genesis.modules["jobs"] = contracts::ToGenesisJson(jobs);
  return ledger::WriteFileAtomically(h.genesis_file(), ledger::GenesisToJson(genesis));
}

std::vector<std::string> MarketProviderArgs(const std::string& node_address, int listen_port) {
  return {"--key",      "provider",
          "--node",     node_address,
          "--listen",   "127.0.0.1:" + std::to_string(listen_port),
          "--backend",  "cpu",
          "--capacity", "1",
          "--price",    "train-classifier=" + std::to_string(kProviderPrice),
          "--bond",     std::to_string(kProviderBond)};
}

market::v1::MsgPlaceOrder TrainOrder(const workloads::JobSpec& spec, const verifier::Secret& secret,
                                     uint32_t sample, uint64_t deadline_blocks,
                                     uint64_t expires_at) {
  market::v1::MsgPlaceOrder m;
  m.set_kind(market::v1::JOB_KIND_TRAIN_CLASSIFIER);
  const Hash256 input = workloads::JobInputHash(spec);
  m.set_input_hash(std::string(input.begin(), input.end()));
  m.set_units(*workloads::JobUnits(spec));
  m.set_max_price_per_unit(2 * kProviderPrice);
  m.set_verification_level(sample);
  m.set_deadline_blocks(deadline_blocks);
  const Hash256 commitment = verifier::SecretCommitment(secret);
  m.set_secret_commitment(std::string(commitment.begin(), commitment.end()));
  m.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
  m.set_expires_at(expires_at);
  return m;
}

}  // namespace probity::verifierd::testing
