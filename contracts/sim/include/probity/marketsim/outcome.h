// What a simulated strategy earned and how often it was caught: the figures of
// `probity bench adversarial` and docs/security.md, measured from a finished simulation.
//
// Profit is measured, not modelled, except for the cost of the work: a group's profit is the
// change in its providers' wealth (balance + bonded + unbonding stake: payments, slashes, fees,
// challenge bonds won) over the run, minus the compute cost of the work they actually did,
// cost_ratio × P × (share of each job's segments computed), where P = price × units is what a
// job pays (docs/economics.md's model, cost_ratio = C / P). A provider that makes up c of n
// segments computes n - c of them; one that skips the work, replays, runs another model or
// withholds is charged nothing (every doubt is resolved in the cheater's favour: another model
// is taken to be free).
#pragma once

#include <cstdint>

#include "probity/marketsim/market_sim.h"

namespace probity::marketsim {

struct GroupOutcome {
  uint64_t jobs = 0;
  uint64_t slashed = 0;  // jobs that ended with the provider slashed
  int64_t wealth_change = 0;
  double compute_cost = 0;
  double mean_profit = 0;  // (wealth_change - compute_cost) / jobs; 0 without jobs
};

// The share of a job's segments a provider of `group` computes.
double ComputedShare(const ProviderGroup& group, uint32_t segments);

// The outcome of group `g` (an index into config.groups). REQUIRES: result is of config.
GroupOutcome OutcomeOf(const SimConfig& config, const SimResult& result, int g, double cost_ratio);

}  // namespace probity::marketsim
