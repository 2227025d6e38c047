// The market simulation (simulation.h) at scale: thousands of jobs, and the measured detection
// rate of each (corrupted segments, k) cell against the hypergeometric probability.
#include "simulation.h"

using namespace probity;
using namespace probity::contracts::testing;

TEST_CASE("simulation at scale: detection matches 1 - C(n-c,k)/C(n,k) in every cell") {
  SimOptions o;
  o.jobs = 3000;
  o.seed = 11;
  Simulation sim(o);
  SimResult r = sim.Run();
  CHECK(r.jobs.size() == 3000);
  Detection all = CheckSimulation(r);
  CHECK(std::abs(all.observed - all.expected) <= 4 * std::sqrt(all.variance) + 1);
  // Per cell: jobs of honest verifiers, providers that open their segments.
  std::map<std::pair<uint32_t, uint32_t>, Detection> cells;
  for (const auto& [id, j] : r.jobs) {
    if (j.strategy.corrupt == 0 || j.strategy.withhold || j.lazy_verifier) continue;
    Detection& c = cells[{j.strategy.corrupt, j.k}];
    const double p = verifier::DetectionProbability(kSimSegments, j.strategy.corrupt, j.k);
    c.expected += p;
    c.variance += p * (1 - p);
    c.observed += std::any_of(j.sample.begin(), j.sample.end(),
                              [&](uint64_t i) { return j.corrupted.count(i) > 0; });
    ++c.jobs;
  }
  for (const auto& [cell, c] : cells) {
    CAPTURE(cell.first);
    CAPTURE(cell.second);
    MESSAGE("c=", cell.first, " k=", cell.second, ": ", c.observed, "/", c.jobs, " detected, ",
            "expected ", c.expected);
    CHECK(c.jobs >= 20);
    CHECK(std::abs(c.observed - c.expected) <= 4 * std::sqrt(c.variance) + 1);
    // The f = c/n approximation 1 - (1 - f)^k is a lower bound of the exact probability.
    const double f = static_cast<double>(cell.first) / kSimSegments;
    CHECK(c.expected / c.jobs >= 1 - std::pow(1 - f, cell.second) - 1e-12);
  }
}
