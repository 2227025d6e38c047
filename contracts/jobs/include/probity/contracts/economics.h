// The provider's expected profit under each strategy, from the genesis parameters: the model
// behind docs/economics.md, whose tables `probity market economics --markdown` prints and a
// test keeps identical to the document.
//
// A reference job pays P = price × units. Doing it honestly costs the provider C = cost_ratio ×
// P. Its trace has n segments; the buyer samples k of them. A provider that corrupts c of the
// n segments (and computes the rest, consistently, from the wrong state: the cheat that
// survives every check but re-execution) saves (c/n)·C and is caught exactly when the sample
// hits a corrupted segment:
//   d(c) = 1 - C(n-c, k) / C(n, k)        (verifier::DetectionProbability)
//        >= 1 - (1 - c/n)^k >= c/n        (for k >= 1)
// Caught, it is paid nothing (the buyer is refunded in full) and loses σ·S, the slash fraction
// of its stake S (at least min_provider_stake to have been matched). So
//   E[cheat] = (1 - d)·P - d·σ·S - (1 - c/n)·C,    E[honest] = P - C,
//   E[cheat] - E[honest] = (c/n)·C - d·(P + σ·S) <= (c/n)·(C - P - σ·S) < 0   when C <= P,
// and when C > P (a job worth refusing), E[cheat] < (c/n - d)·P - d·σ·S < 0: cheating never
// beats the better of honest work and refusing the job, for any c in 1..n, as long as k >= 1
// and σ·S > 0 (both enforced by the parameters' validation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/staking/v1/staking.pb.h"

namespace probity::contracts {

struct EconomicsInputs {
  uint64_t payment = 1'000'000;  // P
  double cost_ratio = 0.6;       // C / P
  uint64_t segments = 64;        // n
  uint32_t k = 4;                // sampled segments (the market's minimum by default)
  uint64_t stake = 1'000'000;    // S (the minimum provider stake by default)
  uint32_t cheat_slash_ppm = 500'000;
  uint32_t withhold_slash_ppm = 500'000;
  uint32_t commit_timeout_slash_ppm = 10'000;
  uint64_t tx_fee = 1;  // what posting an opening on chain costs

  // The reference job under the genesis parameters: k = min_verification_level, S =
  // min_provider_stake, the slash fractions of the jobs module.
  static EconomicsInputs FromParams(const staking::v1::Params& staking,
                                    const market::v1::Params& market, const jobs::v1::Params& jobs);
  static EconomicsInputs Defaults();
};

struct StrategyOutcome {
  std::string strategy;
  uint64_t corrupted = 0;       // c (segments made up)
  double detection = 0;         // exact probability of being caught
  double detection_approx = 0;  // 1 - (1 - c/n)^k
  double expected_profit = 0;   // E[strategy]
  double versus_honest = 0;     // E[strategy] - max(E[honest], 0)
};

double HonestProfit(const EconomicsInputs& in);
// Corrupting c of n segments, 1 <= c <= n.
StrategyOutcome CorruptSegments(const EconomicsInputs& in, uint64_t c);
// Every strategy of docs/economics.md: corrupt a fraction f of the segments (f = 1/64 ... 1),
// skip the work, replay an old result, withhold openings (after doing the work / to hide a
// cheat), take the job and never commit.
std::vector<StrategyOutcome> AllStrategies(const EconomicsInputs& in);

// The tables of docs/economics.md (Markdown), for `in`.
std::string EconomicsMarkdown(const EconomicsInputs& in);

}  // namespace probity::contracts
