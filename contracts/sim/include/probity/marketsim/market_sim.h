// A market simulation driven through the real modules on the real chain (SimChain: ChainApp,
// state tree, RocksDB): buyers order small inference jobs; providers, honest or cheating by a
// fixed strategy, commit traces built with the workloads code (verifier/sim); verifiers
// re-execute the sampled segments with the referee's code (verifier::JudgeSegment) and attest,
// or, if lazy, attest the trace's own hashes; an auditor challenges verified jobs at random;
// the chain settles, disputes and slashes. It records, for every job, what its provider did,
// what was sampled, who checked it, what was challenged and how it ended, and every account's
// wealth before and after, so that tests and `probity bench adversarial` can check the
// protocol's promises and measure detection and profit.
//
// Accounts (SimChain numbering): the providers of the groups in order from 1, then the honest
// verifiers, the lazy verifiers, the buyers, and the auditor last.
//
// The flow of one job: a buyer places an order (k drawn from `k_levels`; the secret is revealed
// two blocks after the commit, or never for a share `no_reveal_rate` of them, so that the block
// hash alone seeds the sample); the market assigns it; the provider commits in the next block;
// once sampled, the verifier asks the provider for each sampled opening: an honest verifier
// re-executes it and attests the recomputed hash, or marks it withheld when the provider gives
// none or gives bytes that are not valid evidence; a disputed provider posts the opening when
// it has a valid one (a withholder never does); a share `audit_rate` of verified jobs is
// challenged by the auditor at one uniformly drawn segment.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::marketsim {

// What a provider does with every job it is assigned.
enum class Behaviour {
  kHonest,         // runs the job (on its group's backend) and commits the trace
  kCorrupt,        // makes up the outputs of `corrupt` segments drawn at random per job, and
                   // re-executes every later segment from its wrong input so the links hold
  kRandomOutputs,  // skips the work: every output made up (a random trace, consistent links)
  kReplay,         // commits the trace of an earlier job with other inputs (the next template)
  kOtherModel,     // runs the ordered images through other weights and commits that trace,
                   // re-chained from the ordered job's input
  kWithhold,       // skips the work (every output made up) and never hands out an opening
};

std::string_view BehaviourName(Behaviour b);

struct ProviderGroup {
  std::string name;  // the strategy's name in reports
  Behaviour behaviour = Behaviour::kHonest;
  uint64_t corrupt = 0;         // kCorrupt: segments made up per job, 1..segments
  std::string backend = "cpu";  // kHonest: where the work runs ("cpu" or "cuda")
  int providers = 1;
};

struct SimConfig {
  uint64_t jobs = 400;
  uint64_t seed = 1;
  // The jobs buyers order: `templates` distinct inference jobs, each of `segments` segments of
  // `slice` images (verifier/sim/tiny_job.h).
  uint32_t templates = 3;
  uint32_t segments = 16;
  uint32_t slice = 2;
  std::vector<uint32_t> k_levels = {1, 2, 4};  // each order's k, drawn uniformly
  std::vector<ProviderGroup> groups;
  int verifiers = 4;       // honest: re-execute every sampled segment
  int lazy_verifiers = 1;  // attest the provider's own hashes without re-executing
  int buyers = 10;
  double audit_rate = 0.05;
  double no_reveal_rate = 0.1;
  uint64_t price_per_unit = 10;
  uint64_t units = 4;
  uint32_t capacity = 2;  // of each provider's one offer
  uint32_t deadline_blocks = 50;
  uint64_t provider_stake = 1'000'000'000;
  uint64_t verifier_stake = 50'000'000;
  uint64_t lazy_verifier_stake = 100'000'000;
  // Slashed providers and verifiers bond back what they lost (from their balance) in the next
  // block, and providers refresh their offer, so that a cheater keeps its stake and keeps
  // being matched however often it is caught.
  bool restake = false;
  // Genesis sections of the marketplace modules; empty: SimDefaultGenesis()'s.
  std::string staking_json, market_json, jobs_json;
  bool check_invariants = true;  // SimChain's invariants after every block
};

// Short windows (3 blocks), 1% slashes, no jailing: a test-sized market.
std::string SimDefaultStakingJson();
std::string SimDefaultMarketJson();
std::string SimDefaultJobsJson();

struct JobRecord {
  Hash256 id{};
  int group = -1;  // index into SimConfig::groups
  int provider = 0;
  uint32_t k = 0;
  bool revealed = false;
  // Segments whose re-execution does not give the committed record (or that the provider
  // cannot open validly): the made-up ones, or all for replay, other model and withholding.
  std::set<uint64_t> bad;
  std::vector<uint64_t> sample;
  int verifier = 0;  // who attested last: a verifier, or the buyer when none was eligible
  bool lazy_verifier = false;
  std::optional<uint64_t> audited;  // the segment the auditor challenged
  jobs::v1::JobState end = jobs::v1::JOB_STATE_UNSPECIFIED;
  uint64_t provider_paid = 0;     // jobs.settled
  uint64_t provider_slashed = 0;  // jobs.slashed
};

struct Wealth {
  uint64_t balance = 0;
  uint64_t stake = 0;  // bonded + unbonding
  int64_t total() const { return static_cast<int64_t>(balance + stake); }
};

struct SimResult {
  std::vector<JobRecord> jobs;  // in the order they were placed
  std::vector<int> group_of;    // by account number: the provider's group, or -1
  int first_verifier = 0, first_lazy_verifier = 0, first_buyer = 0, auditor = 0;
  // Every account's wealth after the setup (bonds and offers) and at the end.
  std::map<int, Wealth> before, after;
  uint64_t blocks = 0;
};

// Runs a whole simulation. Errors: kInvalidArgument for a bad configuration; kUnsupported when
// a group's backend is not available here; kInternal when a transaction fails, an invariant
// breaks, or the simulation stalls.
Result<SimResult> RunSimulation(const SimConfig& config);

// The protocol's promises over a finished run, one line per broken promise (empty: all kept):
// every job ended; an honest provider's job settled and its wealth never fell; a cheat's job
// checked by an honest verifier was slashed exactly when its sample or the audit hit a bad
// segment, one checked by a lazy verifier exactly when the audit did; honest verifiers were
// never slashed.
std::vector<std::string> CheckPromises(const SimConfig& config, const SimResult& result);

}  // namespace probity::marketsim
