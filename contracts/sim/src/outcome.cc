#include "probity/marketsim/outcome.h"

namespace probity::marketsim {

double ComputedShare(const ProviderGroup& group, uint32_t segments) {
  switch (group.behaviour) {
    case Behaviour::kHonest:
      return 1;
    case Behaviour::kCorrupt:
      return 1 - static_cast<double>(group.corrupt) / segments;
    case Behaviour::kRandomOutputs:
    case Behaviour::kReplay:
    case Behaviour::kOtherModel:
    case Behaviour::kWithhold:
      return 0;
  }
  return 0;
}

GroupOutcome OutcomeOf(const SimConfig& config, const SimResult& result, int g, double cost_ratio) {
  GroupOutcome o;
  for (const auto& j : result.jobs) {
    if (j.group != g) continue;
    ++o.jobs;
    if (j.end == jobs::v1::JOB_STATE_SLASHED) ++o.slashed;
  }
  for (size_t a = 1; a < result.group_of.size(); ++a) {
    if (result.group_of[a] != g) continue;
    o.wealth_change += result.after.at(static_cast<int>(a)).total() -
                       result.before.at(static_cast<int>(a)).total();
  }
  const double payment = static_cast<double>(config.price_per_unit * config.units);
  o.compute_cost = cost_ratio * payment * ComputedShare(config.groups[g], config.segments) *
                   static_cast<double>(o.jobs);
  if (o.jobs > 0) {
    o.mean_profit = (static_cast<double>(o.wealth_change) - o.compute_cost) / o.jobs;
  }
  return o;
}

}  // namespace probity::marketsim
