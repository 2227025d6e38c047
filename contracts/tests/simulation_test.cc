// The market simulation at a size for every test run: a few hundred jobs.
#include "simulation_scenario.h"

using namespace probity::marketsim;
using namespace probity::marketsim::testing;

TEST_CASE("simulation: honest providers are never slashed, every detected cheat is") {
  const SimConfig c = Scenario(300, 7);
  auto r = RunSimulation(c);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CheckRun(c, *r);
  Detection d = SampleDetection(c, *r);
  MESSAGE("cheats checked: ", d.jobs, ", detected ", d.observed, ", expected ", d.expected);
  CHECK(d.jobs > 50);
  CHECK(d.WithinBounds());
}

TEST_CASE("simulation: a bad configuration is refused") {
  SimConfig c = Scenario(10, 1);
  c.groups[1].corrupt = 17;
  CHECK(RunSimulation(c).status().code() == probity::Code::kInvalidArgument);
  c.groups.clear();
  CHECK(RunSimulation(c).status().code() == probity::Code::kInvalidArgument);
}
