// TEST ONLY: the market the simulation tests run (probity/marketsim/market_sim.h) — 14
// providers (6 honest; 2 each making up 2, 4 and 8 of 16 segments; one making up all 16; one
// skipping the work and withholding every opening), 4 honest verifiers and a lazy one, 10
// buyers, k in {1, 2, 4}, an auditor challenging 5% of verified jobs, 10% of buyers never
// revealing — and the detection statistics of its cheats.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "probity/marketsim/market_sim.h"
#include "probity/verifier/sampling.h"

namespace probity::marketsim::testing {

inline SimConfig Scenario(uint64_t jobs, uint64_t seed) {
  SimConfig c;
  c.jobs = jobs;
  c.seed = seed;
  c.groups = {{.name = "honest", .behaviour = Behaviour::kHonest, .providers = 6},
              {.name = "corrupt 2", .behaviour = Behaviour::kCorrupt, .corrupt = 2, .providers = 2},
              {.name = "corrupt 4", .behaviour = Behaviour::kCorrupt, .corrupt = 4, .providers = 2},
              {.name = "corrupt 8", .behaviour = Behaviour::kCorrupt, .corrupt = 8, .providers = 2},
              {.name = "random", .behaviour = Behaviour::kRandomOutputs, .providers = 1},
              {.name = "withhold", .behaviour = Behaviour::kWithhold, .providers = 1}};
  return c;
}

// Observed and expected detections by the sample (of jobs checked by an honest verifier
// whose provider opens its segments) and the variance of their count.
struct Detection {
  double observed = 0, expected = 0, variance = 0;
  uint64_t jobs = 0;
  void Add(double p, bool caught) {
    expected += p;
    variance += p * (1 - p);
    observed += caught ? 1 : 0;
    ++jobs;
  }
  bool WithinBounds() const { return std::abs(observed - expected) <= 4 * std::sqrt(variance) + 1; }
};

inline bool SampleHitsBad(const JobRecord& j) {
  return std::any_of(j.sample.begin(), j.sample.end(), [&](uint64_t i) { return j.bad.count(i); });
}

inline Detection SampleDetection(const SimConfig& c, const SimResult& r) {
  Detection d;
  for (const auto& j : r.jobs) {
    const Behaviour b = c.groups[j.group].behaviour;
    if (b == Behaviour::kHonest || b == Behaviour::kWithhold || j.lazy_verifier) continue;
    d.Add(verifier::DetectionProbability(c.segments, j.bad.size(), j.k), SampleHitsBad(j));
  }
  return d;
}

inline void CheckRun(const SimConfig& c, const SimResult& r) {
  REQUIRE(r.jobs.size() == c.jobs);
  for (const auto& line : CheckPromises(c, r)) FAIL_CHECK(line);
}

}  // namespace probity::marketsim::testing
