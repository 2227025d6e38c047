// TEST ONLY: the marketplace that the process tests run (node, provider and verifier processes
// on one home, with this test as the buyer): the home's setup, the provider's arguments, and
// the tiny Fashion-MNIST training job they trade. Shared by tests/verifier/marketplace_test.cc
// and the fault tests (tests/faults/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probity/market/v1/market.pb.h"
#include "probity/primitives/status.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/job_spec.h"

namespace probity::verifierd::testing {

// TestKey numbers of the parties; each is funded with kMarketFunds.
inline constexpr int kBuyer = 1, kProvider = 2, kVerifier = 3;
inline constexpr uint64_t kMarketFunds = 10'000'000'000;
inline constexpr uint64_t kProviderPrice = 5;  // per unit
inline constexpr uint64_t kProviderBond = 2'000'000;

// Whether Debian's dataset-fashion-mnist is installed (the job trains on it).
bool HaveFashionMnist();

// A training job small enough for a test: an MLP, 512 examples, 16 steps, 4 per segment, so 4
// segments. `seed` varies the job (and its input hash).
Result<workloads::JobSpec> TinyTrainSpec(uint64_t seed = 9);
inline constexpr uint32_t kTinySegments = 4;

struct MarketHomeOptions {
  int funded_accounts = 3;                // TestKey(1..n), kMarketFunds each
  uint64_t challenge_window_blocks = 40;  // the default, 600, is long for a test
  uint64_t attest_window_blocks = 0;      // 0: the genesis default
};
// `probity init` on HOME funding the parties, their keys HOME/keys/{provider,verifier}.key, a
// config cutting an empty block every 20 ms (windows are counted in blocks), and a genesis
// with the jobs module's windows of `options`.
Status PrepareMarketHome(const std::string& home, const MarketHomeOptions& options = {});

// `probity provider` arguments for the market's provider: key "provider", CPU backend, one job
// at a time at kProviderPrice, bonding kProviderBond, serving on 127.0.0.1:`listen_port` (fixed,
// so that a restarted provider keeps the endpoint of its offer).
std::vector<std::string> MarketProviderArgs(const std::string& node_address, int listen_port);

// An order for `spec` with `sample` segments verified, the hash of `secret` committed, refunded
// if not settled within `deadline_blocks`, resting in the book until height `expires_at`.
market::v1::MsgPlaceOrder TrainOrder(const workloads::JobSpec& spec, const verifier::Secret& secret,
                                     uint32_t sample, uint64_t deadline_blocks,
                                     uint64_t expires_at);

}  // namespace probity::verifierd::testing
