// `probity bench adversarial`: cheating providers at scale, on the real chain.
//
// Each strategy runs in its own market (probity/marketsim/market_sim.h: ChainApp, state tree
// and RocksDB in a temporary directory; traces built with the workloads code; verifiers
// re-executing the sample with the referee's code; disputes settled by the chain's referee),
// where 4 providers follow the strategy and 2 honest providers serve the same buyers, so that
// every line compares the strategy with honest work measured in the same run. Every job is a
// 1,000-image inference job with one image per segment (n = 1,000 segments), ordered with
// k = 16 sampled segments; the marketplace runs under the genesis defaults (slashes: 50% of the
// stake for a wrong or withheld segment; stake: the minimum, 1,000,000) except for 3-block
// windows and no jailing (jailing only takes business away from a cheater: without it, the
// measured profit of cheating is an upper bound). A caught provider bonds its stake back up
// and keeps offering, however often it is caught.
//
// Strategies (one JSON line each):
//   honest            every honest provider of every market (cpu); `honest (cuda)` in a
//                     market of its own when a CUDA device is present
//   corrupt           f = c/n of each job's segments made up, c = f·n drawn uniformly per job,
//                     every later segment re-executed from its wrong input (so that only the
//                     re-execution of a made-up segment exposes it); f in {0.001, 0.01, 0.05, 0.5}
//   random-outputs    the work skipped, every output made up
//   replay            an earlier job's trace (other inputs) committed for this one
//   other-model       the ordered images run through other weights
//   withhold          the work skipped, and no segment ever opened
//   collude           random outputs attested by an accomplice verifier that checks nothing (the
//                     only verifier of its market); an auditor challenges a share
//                     --audit-rate (5%) of verified jobs at one uniformly drawn segment
// Fields: f (share of bad segments; 1 when every segment is bad), k, jobs (of the strategy),
// detected (jobs that ended with the provider slashed), detection_rate, theory = 1 − (1 − f)^k
// (for collude: audit_rate × f, one audited segment), theory_exact (the hypergeometric
// 1 − C(n − c, k)/C(n, k) of sampling without replacement; for collude the same as theory),
// honest_slashed (slashed jobs of the honest providers of the same market: must be 0),
// mean_profit and honest_mean_profit (per job: the providers' change in balance + stake, minus
// the compute cost 0.6 × P of the share of segments actually computed; P = 10,000 per job;
// probity/marketsim/outcome.h), mean_profit_vs_honest (their difference: negative means the
// strategy loses money against honest work), promises_broken (jobs whose outcome is not the
// one the protocol promises; must be 0), seconds.
//
// Flags: --quick (about a fifth of the jobs, for tests), --seed N, --k K, --audit-rate X,
// --only NAME (one strategy's market, e.g. --only "corrupt f=0.01").
// The full run drives 10,500 jobs (11,100 with a CUDA device).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "bench_output.h"
#include "command.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/module_state.h"
#include "probity/contracts/staking.h"
#include "probity/marketsim/market_sim.h"
#include "probity/marketsim/outcome.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/backend.h"

namespace probity::cli {
namespace {

using marketsim::Behaviour;
using marketsim::ProviderGroup;
using marketsim::SimConfig;

constexpr uint32_t kSegments = 1000;
constexpr double kCostRatio = 0.6;  // C / P, as docs/economics.md's reference job
constexpr int kHonestProviders = 2, kStrategyProviders = 4;

struct Phase {
  std::string name;  // the line's name
  ProviderGroup group;
  uint64_t jobs = 0, quick_jobs = 0;
  bool collude = false;
};

struct Row {
  std::string name, strategy;
  double f = 0;
  uint32_t k = 0;
  uint64_t jobs = 0, detected = 0;
  double theory = 0, theory_exact = 0;
  std::string theory_formula;
  uint64_t honest_jobs = 0, honest_slashed = 0;
  double mean_profit = 0, honest_mean_profit = 0;
  uint64_t promises_broken = 0;
  double seconds = 0;
};

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string StakingGenesis() {
  staking::v1::GenesisState g;
  *g.mutable_params() = contracts::Staking::DefaultParams();
  g.mutable_params()->set_jail_after_faults(4'000'000'000u);
  g.mutable_params()->set_fault_window_blocks(1);
  return contracts::ToGenesisJson(g);
}

std::string JobsGenesis() {
  jobs::v1::GenesisState g;
  *g.mutable_params() = contracts::Jobs::DefaultParams();
  auto* p = g.mutable_params();
  p->set_reveal_window_blocks(3);
  p->set_attest_window_blocks(3);
  p->set_challenge_window_blocks(3);
  p->set_opening_window_blocks(3);
  return contracts::ToGenesisJson(g);
}

SimConfig Market(const Phase& phase, bool quick, uint64_t seed, uint32_t k, double audit_rate) {
  SimConfig c;
  c.jobs = quick ? phase.quick_jobs : phase.jobs;
  c.seed = seed;
  c.templates = 3;
  c.segments = kSegments;
  c.slice = 1;
  c.k_levels = {k};
  c.groups = {{.name = "honest", .behaviour = Behaviour::kHonest, .providers = kHonestProviders},
              phase.group};
  c.verifiers = phase.collude ? 0 : 4;
  c.lazy_verifiers = phase.collude ? 1 : 0;
  c.audit_rate = phase.collude ? audit_rate : 0;
  c.no_reveal_rate = 0.1;
  c.price_per_unit = 100;
  c.units = 100;
  c.capacity = 4;
  c.provider_stake = contracts::Staking::DefaultParams().min_provider_stake();
  c.verifier_stake = contracts::Staking::DefaultParams().min_verifier_stake();
  // The accomplice holds ten times the minimum, so that the slashes of the audits it fails
  // never leave the market without a verifier between its restakes.
  c.lazy_verifier_stake = 10 * c.verifier_stake;
  c.restake = true;
  c.staking_json = StakingGenesis();
  c.market_json = contracts::Market::DefaultGenesisJson();
  c.jobs_json = JobsGenesis();
  return c;
}

// The share of bad segments of a strategy (1 when every segment is bad, 0 for honest work).
double BadShare(const ProviderGroup& g) {
  if (g.behaviour == Behaviour::kHonest) return 0;
  if (g.behaviour == Behaviour::kCorrupt) return static_cast<double>(g.corrupt) / kSegments;
  return 1;
}

Result<Row> RunPhase(const Phase& phase, bool quick, uint64_t seed, uint32_t k, double audit_rate,
                     marketsim::GroupOutcome* honest) {
  const SimConfig c = Market(phase, quick, seed, k, audit_rate);
  const auto t0 = std::chrono::steady_clock::now();
  PROBITY_ASSIGN_OR_RETURN(marketsim::SimResult r, marketsim::RunSimulation(c));
  Row row;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto broken = marketsim::CheckPromises(c, r);
  for (const auto& line : broken)
    std::cerr << "adversarial: " << phase.name << ": " << line << "\n";
  *honest = marketsim::OutcomeOf(c, r, 0, kCostRatio);
  const marketsim::GroupOutcome mine = marketsim::OutcomeOf(c, r, 1, kCostRatio);
  row.name = phase.name;
  row.strategy =
      phase.collude ? "collude" : std::string(marketsim::BehaviourName(phase.group.behaviour));
  row.f = BadShare(phase.group);
  row.k = k;
  row.jobs = mine.jobs;
  row.detected = mine.slashed;
  const uint64_t c_bad = static_cast<uint64_t>(std::llround(row.f * kSegments));
  if (phase.collude) {
    row.theory = row.theory_exact = audit_rate * row.f;
    row.theory_formula = "audit_rate*f";
  } else {
    row.theory = 1 - std::pow(1 - row.f, k);
    row.theory_exact = verifier::DetectionProbability(kSegments, c_bad, k);
    row.theory_formula = "1-(1-f)^k";
  }
  row.honest_jobs = honest->jobs;
  row.honest_slashed = honest->slashed;
  row.mean_profit = mine.mean_profit;
  row.honest_mean_profit = honest->mean_profit;
  row.promises_broken = broken.size();
  std::cerr << "adversarial: " << phase.name << ": " << r.jobs.size() << " jobs, " << r.blocks
            << " blocks, " << Num(row.seconds) << " s\n";
  return row;
}

void Print(const Row& r, bool json) {
  if (!json) {
    std::printf(
        "%-22s f=%-6s k=%-3u jobs=%-5llu detected=%-5llu rate=%-8s theory=%-8s "
        "honest_slashed=%llu profit_vs_honest=%s\n",
        r.name.c_str(), Num(r.f).c_str(), r.k, static_cast<unsigned long long>(r.jobs),
        static_cast<unsigned long long>(r.detected),
        Num(r.jobs ? static_cast<double>(r.detected) / r.jobs : 0).c_str(), Num(r.theory).c_str(),
        static_cast<unsigned long long>(r.honest_slashed),
        Num(r.mean_profit - r.honest_mean_profit).c_str());
    return;
  }
  BenchFigure f;
  f.suite = "adversarial";
  f.name = r.name;
  f.value = r.jobs ? static_cast<double>(r.detected) / r.jobs : 0;
  f.unit = "detected";
  f.extra["strategy"] = JsonString(r.strategy);
  f.extra["f"] = Num(r.f);
  f.extra["k"] = std::to_string(r.k);
  f.extra["segments"] = std::to_string(kSegments);
  f.extra["jobs"] = std::to_string(r.jobs);
  f.extra["detected"] = std::to_string(r.detected);
  f.extra["detection_rate"] = Num(f.value);
  f.extra["theory"] = Num(r.theory);
  f.extra["theory_exact"] = Num(r.theory_exact);
  f.extra["theory_formula"] = JsonString(r.theory_formula);
  f.extra["honest_jobs"] = std::to_string(r.honest_jobs);
  f.extra["honest_slashed"] = std::to_string(r.honest_slashed);
  f.extra["mean_profit"] = Num(r.mean_profit);
  f.extra["honest_mean_profit"] = Num(r.honest_mean_profit);
  f.extra["mean_profit_vs_honest"] = Num(r.mean_profit - r.honest_mean_profit);
  f.extra["promises_broken"] = std::to_string(r.promises_broken);
  f.extra["seconds"] = Num(r.seconds);
  PrintBenchFigure(f, true);
}

std::vector<Phase> Phases() {
  std::vector<Phase> p;
  for (auto [f, full, quick] : {std::tuple{0.001, 2400, 600}, std::tuple{0.01, 1200, 240},
                                std::tuple{0.05, 900, 150}, std::tuple{0.5, 900, 150}}) {
    p.push_back({.name = "corrupt f=" + Num(f),
                 .group = {.name = "corrupt",
                           .behaviour = Behaviour::kCorrupt,
                           .corrupt = static_cast<uint64_t>(std::llround(f * kSegments)),
                           .providers = kStrategyProviders},
                 .jobs = static_cast<uint64_t>(full),
                 .quick_jobs = static_cast<uint64_t>(quick)});
  }
  for (Behaviour b : {Behaviour::kRandomOutputs, Behaviour::kReplay, Behaviour::kOtherModel,
                      Behaviour::kWithhold}) {
    const std::string name(marketsim::BehaviourName(b));
    p.push_back({.name = name,
                 .group = {.name = name, .behaviour = b, .providers = kStrategyProviders},
                 .jobs = 900,
                 .quick_jobs = 120});
  }
  p.push_back({.name = "collude",
               .group = {.name = "collude",
                         .behaviour = Behaviour::kRandomOutputs,
                         .providers = kStrategyProviders},
               .jobs = 1500,
               .quick_jobs = 450,
               .collude = true});
  return p;
}

int RunAdversarial(const Args& args) {
  if (Status s = args.CheckKnown({"quick", "seed", "k", "audit-rate", "only"}); !s.ok()) {
    return Fail(args, s);
  }
  const bool quick = args.Has("quick");
  auto seed = args.GetU64("seed", 1);
  auto k = args.GetU64("k", 16);
  if (!seed.ok()) return Fail(args, seed.status());
  if (!k.ok()) return Fail(args, k.status());
  if (*k < 1 || *k > 64) return Fail(args, Status::InvalidArgument("--k must be 1..64"));
  double audit_rate = 0.05;
  if (auto a = args.Get("audit-rate")) {
    char* end = nullptr;
    audit_rate = std::strtod(a->c_str(), &end);
    if (end == a->c_str() || *end != '\0' || !(audit_rate > 0 && audit_rate <= 1)) {
      return Fail(args, Status::InvalidArgument("--audit-rate must be in (0, 1]"));
    }
  }
  std::vector<Phase> phases = Phases();
  const auto backends = workloads::AvailableBackends();
  const bool cuda = std::find(backends.begin(), backends.end(), "cuda") != backends.end();
  if (cuda) {
    phases.push_back({.name = "honest (cuda)",
                      .group = {.name = "honest (cuda)",
                                .behaviour = Behaviour::kHonest,
                                .backend = "cuda",
                                .providers = kStrategyProviders},
                      .jobs = 600,
                      .quick_jobs = 90});
  } else {
    std::cerr << "adversarial: no CUDA device: the honest (cuda) line is left out\n";
  }

  if (auto only = args.Get("only")) {
    std::erase_if(phases, [&](const Phase& p) { return p.name != *only; });
    if (phases.empty()) {
      return Fail(args, Status::InvalidArgument("--only: no strategy named '" + *only + "'"));
    }
  }
  std::vector<Row> rows;
  Row honest{.name = "honest",
             .strategy = "honest",
             .k = static_cast<uint32_t>(*k),
             .theory_formula = "0"};
  double honest_profit_sum = 0;
  bool broken = false;
  for (size_t i = 0; i < phases.size(); ++i) {
    marketsim::GroupOutcome h;
    auto row = RunPhase(phases[i], quick, *seed + i, static_cast<uint32_t>(*k), audit_rate, &h);
    if (!row.ok()) return Fail(args, row.status());
    honest.jobs += h.jobs;
    honest.detected += h.slashed;
    honest.honest_jobs += h.jobs;
    honest.honest_slashed += h.slashed;
    honest.promises_broken += row->promises_broken;
    honest.seconds += row->seconds;
    honest_profit_sum += h.mean_profit * h.jobs;
    if (phases[i].group.behaviour == Behaviour::kHonest) {
      // Honest on another backend: itself honest, so its slashes count as honest ones too.
      row->theory = row->theory_exact = 0;
      row->theory_formula = "0";
      row->honest_slashed += row->detected;
    }
    broken = broken || row->promises_broken > 0 || row->honest_slashed > 0;
    rows.push_back(std::move(*row));
  }
  honest.mean_profit = honest.honest_mean_profit =
      honest.jobs ? honest_profit_sum / honest.jobs : 0;
  Print(honest, args.json());
  for (const auto& r : rows) Print(r, args.json());
  uint64_t total = 0;
  for (const auto& r : rows) total += r.jobs + r.honest_jobs;
  std::cerr << "adversarial: " << total << " jobs in all\n";
  if (broken) {
    std::cerr << "adversarial: the protocol broke a promise (see above)\n";
    return 1;
  }
  return 0;
}

}  // namespace

PROBITY_BENCH_SUITE({.name = "adversarial",
                     .summary = "honest and cheating providers at scale on the real chain: "
                                "detection and profit of each strategy",
                     .run = RunAdversarial});

}  // namespace probity::cli
