// The market simulation at scale: thousands of jobs, and the measured detection rate of each
// (corrupted segments, k) cell against the hypergeometric probability.
#include <map>

#include "simulation_scenario.h"

using namespace probity;
using namespace probity::marketsim;
using namespace probity::marketsim::testing;

TEST_CASE("simulation at scale: detection matches 1 - C(n-c,k)/C(n,k) in every cell") {
  const SimConfig c = Scenario(3000, 11);
  auto r = RunSimulation(c);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CheckRun(c, *r);
  CHECK(SampleDetection(c, *r).WithinBounds());
  // Per cell: jobs of honest verifiers, providers that open their segments.
  std::map<std::pair<uint64_t, uint32_t>, Detection> cells;
  for (const auto& j : r->jobs) {
    const Behaviour b = c.groups[j.group].behaviour;
    if (b == Behaviour::kHonest || b == Behaviour::kWithhold || j.lazy_verifier) continue;
    cells[{j.bad.size(), j.k}].Add(verifier::DetectionProbability(c.segments, j.bad.size(), j.k),
                                   SampleHitsBad(j));
  }
  for (const auto& [cell, d] : cells) {
    CAPTURE(cell.first);
    CAPTURE(cell.second);
    MESSAGE("c=", cell.first, " k=", cell.second, ": ", d.observed, "/", d.jobs, " detected, ",
            "expected ", d.expected);
    CHECK(d.jobs >= 20);
    CHECK(d.WithinBounds());
    // The f = c/n approximation 1 - (1 - f)^k is a lower bound of the exact probability.
    const double f = static_cast<double>(cell.first) / c.segments;
    CHECK(d.expected / d.jobs >= 1 - std::pow(1 - f, cell.second) - 1e-12);
  }
}
