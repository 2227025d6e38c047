#include "probity/contracts/economics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/staking.h"
#include "probity/verifier/sampling.h"

namespace probity::contracts {
namespace {

double Slash(const EconomicsInputs& in, uint32_t ppm) {
  return static_cast<double>(in.stake) * ppm / 1e6;
}

std::string Num(double v, int decimals = 0) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  std::string s = buf;
  // Thousands separators on the integer part, for reading.
  size_t dot = s.find('.');
  size_t end = dot == std::string::npos ? s.size() : dot;
  size_t start = s[0] == '-' ? 1 : 0;
  for (int i = static_cast<int>(end) - 3; i > static_cast<int>(start); i -= 3) {
    s.insert(static_cast<size_t>(i), ",");
  }
  return s;
}

}  // namespace

EconomicsInputs EconomicsInputs::FromParams(const staking::v1::Params& staking,
                                            const market::v1::Params& market,
                                            const jobs::v1::Params& jobs) {
  EconomicsInputs in;
  in.k = market.min_verification_level();
  in.stake = staking.min_provider_stake();
  in.cheat_slash_ppm = jobs.cheat_slash_ppm();
  in.withhold_slash_ppm = jobs.withhold_slash_ppm();
  in.commit_timeout_slash_ppm = jobs.commit_timeout_slash_ppm();
  return in;
}

EconomicsInputs EconomicsInputs::Defaults() {
  return FromParams(Staking::DefaultParams(), Market::DefaultParams(), Jobs::DefaultParams());
}

double HonestProfit(const EconomicsInputs& in) {
  return static_cast<double>(in.payment) * (1 - in.cost_ratio);
}

StrategyOutcome CorruptSegments(const EconomicsInputs& in, uint64_t c) {
  const double p = static_cast<double>(in.payment);
  const double cost = p * in.cost_ratio;
  const double f = static_cast<double>(c) / static_cast<double>(in.segments);
  StrategyOutcome o;
  o.corrupted = c;
  o.detection = verifier::DetectionProbability(in.segments, c, in.k);
  o.detection_approx = 1 - std::pow(1 - f, in.k);
  o.expected_profit =
      (1 - o.detection) * p - o.detection * Slash(in, in.cheat_slash_ppm) - (1 - f) * cost;
  o.versus_honest = o.expected_profit - std::max(HonestProfit(in), 0.0);
  return o;
}

std::vector<StrategyOutcome> AllStrategies(const EconomicsInputs& in) {
  std::vector<StrategyOutcome> out;
  const double p = static_cast<double>(in.payment);
  const double cost = p * in.cost_ratio;
  const double honest = std::max(HonestProfit(in), 0.0);
  for (double f : {1.0 / 64, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0}) {
    uint64_t c = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(f * in.segments - 1e-9)));
    StrategyOutcome o = CorruptSegments(in, c);
    o.strategy =
        "corrupt f = " + std::to_string(c) + "/" + std::to_string(in.segments) + " of the segments";
    out.push_back(o);
  }
  // Skipping the work: every segment is made up; any sampled one convicts.
  StrategyOutcome skip = CorruptSegments(in, in.segments);
  skip.strategy = "skip the work (commit made-up hashes)";
  out.push_back(skip);
  // Replaying another job's result: no segment of it opens against this job's input hash
  // (segment 0's input and every opening's spec are bound to it), so the first sampled index
  // the verifier asks for can be neither opened nor posted: slashed for withholding.
  StrategyOutcome replay;
  replay.strategy = "replay an old result (other inputs)";
  replay.corrupted = in.segments;
  replay.detection = replay.detection_approx = 1;
  replay.expected_profit = -Slash(in, in.withhold_slash_ppm);
  replay.versus_honest = replay.expected_profit - honest;
  out.push_back(replay);
  // Withholding openings after honest work: the verifier reports the index; the provider must
  // post the opening on chain (it re-executes correctly) at the price of a transaction.
  StrategyOutcome withhold;
  withhold.strategy = "withhold openings, then post them on chain";
  withhold.expected_profit = p - cost - static_cast<double>(in.tx_fee) * in.k;
  withhold.versus_honest = withhold.expected_profit - honest;
  out.push_back(withhold);
  // Withholding on chain too: slashed for withholding, after paying for the work.
  StrategyOutcome silent;
  silent.strategy = "withhold openings, also on chain";
  silent.detection = silent.detection_approx = 1;
  silent.expected_profit = -cost - Slash(in, in.withhold_slash_ppm);
  silent.versus_honest = silent.expected_profit - honest;
  out.push_back(silent);
  // Taking the job and never committing: the commit-timeout slash, nothing earned.
  StrategyOutcome vanish;
  vanish.strategy = "take the job, never commit";
  vanish.detection = vanish.detection_approx = 1;
  vanish.expected_profit = -Slash(in, in.commit_timeout_slash_ppm);
  vanish.versus_honest = vanish.expected_profit - honest;
  out.push_back(vanish);
  return out;
}

std::string EconomicsMarkdown(const EconomicsInputs& in) {
  std::string s;
  s += "Reference job: P = " + Num(static_cast<double>(in.payment)) +
       ", cost C = " + Num(in.cost_ratio * 100, 0) + "% of P, n = " + std::to_string(in.segments) +
       " segments, k = " + std::to_string(in.k) +
       ", stake S = " + Num(static_cast<double>(in.stake)) +
       ", cheat slash σ = " + Num(in.cheat_slash_ppm / 1e4, 1) + "%, withhold slash " +
       Num(in.withhold_slash_ppm / 1e4, 1) + "%, commit-timeout slash " +
       Num(in.commit_timeout_slash_ppm / 1e4, 1) +
       "%. Honest profit P - C = " + Num(HonestProfit(in)) + ".\n\n";
  s += "| strategy | c | caught (exact) | 1-(1-c/n)^k | E[profit] | vs honest |\n";
  s += "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& o : AllStrategies(in)) {
    s += "| " + o.strategy + " | " + (o.corrupted ? std::to_string(o.corrupted) : "-") + " | " +
         Num(o.detection, 4) + " | " + Num(o.detection_approx, 4) + " | " + Num(o.expected_profit) +
         " | " + Num(o.versus_honest) + " |\n";
  }
  return s;
}

}  // namespace probity::contracts
