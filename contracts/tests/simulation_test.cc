// The market simulation (simulation.h) at a size for every test run: a few hundred jobs.
#include "simulation.h"

using namespace probity::contracts::testing;

TEST_CASE("simulation: honest providers are never slashed, every detected cheat is") {
  SimOptions o;
  o.jobs = 300;
  o.seed = 7;
  Simulation sim(o);
  SimResult r = sim.Run();
  CHECK(r.jobs.size() == 300);
  Detection d = CheckSimulation(r);
  MESSAGE("cheats checked: ", d.jobs, ", detected ", d.observed, ", expected ", d.expected);
  CHECK(d.jobs > 50);
  CHECK(std::abs(d.observed - d.expected) <= 4 * std::sqrt(d.variance) + 1);
}
