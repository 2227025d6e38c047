// The off-chain check of a committed job, and the verifier daemon built on it.
//
// The check (shared by `probity verifier`, `probity audit` and the buyer's self-verification):
// for some segments of a job, fetch each opening from the job's provider, judge it against the
// commitment the chain holds with verifier::JudgeSegment (the very code the chain's referee
// runs in a dispute: decode, bind to the commitment, re-execute, compare), and report one
// verdict per segment. Every comparison is an equality of hashes; there is no tolerance.
//
//   ok         the opening is valid and re-executes to the committed output hash
//   mismatch   the opening is valid and re-executes to another hash (the provider cheated)
//   withheld   no opening came within the fetch policy (refused, unreachable, not served)
//   malformed  bytes came, but are not a valid opening of this segment under the commitment
//              (oversized, undecodable, another segment, a record or input not in the trace)
//   unchecked  this checker cannot re-execute the segment (e.g. it lacks the training data
//              set): it must not decide either way, and no attestation can be built
//
// For a SAMPLED job, BuildAttestation turns the verdicts into the MsgAttest the jobs module
// accepts (contracts/jobs, docs/protocol.md section 4): one entry per sampled index in draw
// order; for ok and mismatch the record and Merkle proof the opening carried and the hash
// recomputed here; for withheld and malformed only `withheld` (a malformed opening is no
// opening: the dispute then makes the provider post a valid one on chain or be slashed).
// Segments the chain already re-executed (Job.proven_segments) need no evidence: they are not
// fetched, and their entry is the bare index marked withheld, the one evidence-free form the
// module's message check admits (the module skips these entries before reading them).
//
// The daemon (`probity verifier`): bonds stake and joins the verifier rotation, follows the
// chain's events for its account, and for each job it is assigned (SAMPLED, verifier = its
// key) checks the sample within the attest window and sends the attestation. Its event cursor,
// the jobs it still has to look at, and the attestations it sent live in a RocksDB database
// under `state_dir`, so that a restart neither misses a job nor attests one twice.
//
// Thread-safety: CheckSegments and CheckJob are thread-safe given distinct Backends; a
// ProviderOpenings is used by one thread at a time. VerifierDaemon's methods are called by its
// owner's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "probity/client/chain.h"
#include "probity/client/provider_client.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/node_client.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/verifier/referee.h"
#include "probity/workloads/workloads.h"

namespace probity::verifierd {

enum class Verdict { kOk, kMismatch, kWithheld, kMalformed, kUnchecked };
// "ok", "mismatch", "withheld", "malformed", "unchecked".
std::string_view VerdictName(Verdict v);

struct SegmentCheck {
  uint64_t index = 0;
  Verdict verdict = Verdict::kWithheld;
  // kOk and kMismatch: the trace record the opening carried (checked to sit in the committed
  // trace root), its Merkle proof, and the output hash re-executed here.
  workloads::TraceRecord record;
  std::vector<Hash256> proof;
  Hash256 recomputed{};
  std::string detail;           // why, for every verdict but kOk
  uint32_t fetch_attempts = 0;  // GetOpening calls made
  double reexecute_seconds = 0;
};

struct JobCheck {
  Hash256 job_id{};
  workloads::JobCommitment commitment;
  std::vector<SegmentCheck> segments;  // in the order asked for
  bool all_ok() const;
  // The first segment whose verdict is `v`, or nullptr.
  const SegmentCheck* first(Verdict v) const;
};

// Where openings come from: the provider in production, a table in tests.
class OpeningSource {
 public:
  virtual ~OpeningSource() = default;
  // The opening bytes of `segment`, or why there are none now (every error is retried under
  // the FetchPolicy).
  virtual Result<Bytes> Fetch(uint64_t segment) = 0;
};

// GetOpening of one job at its provider, each request signed by `key` (the job's verifier,
// its buyer, or an account bonded as a verifier). The client and key must outlive this.
class ProviderOpenings final : public OpeningSource {
 public:
  ProviderOpenings(const client::ProviderClient* provider, const SecretKey* key,
                   const Hash256& job_id)
      : provider_(provider), key_(key), job_id_(job_id) {}
  Result<Bytes> Fetch(uint64_t segment) override;

 private:
  const client::ProviderClient* provider_;
  const SecretKey* key_;
  Hash256 job_id_;
};

// How hard to try for the openings. Every segment is asked for once, in order (and re-executed
// as soon as its opening comes); those not given are asked again in rounds, with exponential
// backoff, until each came, `max_wait` from the start has passed, `give_up` says so, or a stop
// is requested. The rest are withheld.
struct FetchPolicy {
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds max_wait{30000};
  // Asked before each round and at least every 250 ms while waiting; true ends the retrying
  // (the daemon: the attest window is about to close). May be empty.
  std::function<bool()> give_up;
  // A stop request ends the retrying at once.
  std::stop_token stop;
};

// What re-executes. The backend is used by one check at a time; the catalog resolves training
// data sets (workloads::DataCatalog::Default() in the daemons).
struct Reexecutor {
  workloads::Backend* backend = nullptr;
  workloads::DataCatalog* catalog = nullptr;
  verifier::RefereeLimits limits;
};

// Checks `segments` of the job committed to `commitment`, in order. Never fails: every outcome
// is a verdict. REQUIRES: every index < commitment.segment_count.
JobCheck CheckSegments(const Hash256& job_id, const workloads::JobCommitment& commitment,
                       std::span<const uint64_t> segments, OpeningSource& openings,
                       const FetchPolicy& fetch, const Reexecutor& reexecutor);

// The commitment the chain holds for `job`: the order's input hash, the committed output hash,
// trace root and segment count. kFailedPrecondition when the job has not committed (yet);
// kCorruption for a record whose hashes are not 32 bytes.
Result<workloads::JobCommitment> CommitmentOf(const jobs::v1::Job& job);

// The segments a SAMPLED job's attestation needs evidence for: its sample in draw order, less
// the segments the chain already re-executed.
std::vector<uint64_t> SegmentsToAttest(const jobs::v1::Job& job);

// The attestation of `job` (SAMPLED) from `check`, which must hold a verdict for each of
// SegmentsToAttest(job). kFailedPrecondition when the job is not SAMPLED or a verdict is
// missing; kUnavailable when a segment is kUnchecked (nothing may be claimed about it).
Result<jobs::v1::MsgAttest> BuildAttestation(const jobs::v1::Job& job, const JobCheck& check);

// A client for the provider service named by the job's offer (Offer.endpoint), bound to the
// job's provider key. `endpoint` overrides the offer's (an auditor's --endpoint, or an offer
// closed since). kNotFound when the offer is gone and no endpoint is given.
Result<std::unique_ptr<client::ProviderClient>> ConnectProvider(
    const client::ChainReader& chain, const jobs::v1::Job& job,
    const client::ChannelSecurity& security, const std::string& endpoint = "");

// The whole check of one job from the chain: reads the job (proven), takes `segments` (nullopt:
// the attestation set of a SAMPLED job), fetches the openings signed by `key` and judges them.
struct ChainCheck {
  jobs::v1::Job job;
  JobCheck check;
  // Set when the job is SAMPLED, the attestation set was checked and nothing is unchecked.
  std::optional<jobs::v1::MsgAttest> attestation;
};
// kNotFound for an unknown job; kFailedPrecondition when it has no commitment, or when
// `segments` is nullopt and it is not SAMPLED; kOutOfRange for an index past the end.
Result<ChainCheck> CheckJob(const client::ChainReader& chain,
                            const client::ProviderClient& provider, const SecretKey& key,
                            const Hash256& job_id,
                            const std::optional<std::vector<uint64_t>>& segments,
                            const FetchPolicy& fetch, const Reexecutor& reexecutor);

// The buyer's self-verification in one call (buyer::SelfVerifier): ConnectProvider from the
// job's offer, then CheckJob of the attestation set signed by `key`. The MsgAttest, or why none
// can be built (kUnavailable when a segment could not be re-executed here).
Result<jobs::v1::MsgAttest> AttestSampledJob(const client::ChainReader& chain, const SecretKey& key,
                                             const jobs::v1::Job& job, const FetchPolicy& fetch,
                                             const Reexecutor& reexecutor,
                                             const client::ChannelSecurity& security = {});

// --- the daemon ---

struct VerifierOptions {
  std::shared_ptr<const ledger::NodeClient> node;  // proven reads and transaction submission
  ledger::Genesis genesis;                         // chain id and fees for the transactions
  std::string state_dir;                           // HOME/verifier: state.db, metrics.addr
  // Bond stake up to this amount when below it; nullopt: up to min_verifier_stake.
  std::optional<uint64_t> bond;
  std::string backend = "cpu";  // "cpu", "cuda" or "auto" (cuda when a device is present)
  int parallel_jobs = 2;        // jobs checked at once (each with its own backend)
  std::string metrics_address;  // "host:port" for /metrics; empty: none
  client::ChannelSecurity provider_security;
  workloads::DataCatalog* catalog = nullptr;  // nullptr: workloads::DataCatalog::Default()
  // Fetching stops this many blocks before the attest deadline, leaving time to send.
  uint64_t attest_margin_blocks = 3;
  FetchPolicy fetch;                      // its `give_up` and `stop` are the daemon's own
  observe::Registry* registry = nullptr;  // nullptr: observe::Registry::Default()
};

class VerifierDaemon {
 public:
  // Opens the state, bonds and joins the rotation when needed (waiting for those transactions
  // to commit), starts the metrics server (writing its address to state_dir/metrics.addr), the
  // workers and the event follower, and queues the jobs a previous run left unfinished.
  static Result<std::unique_ptr<VerifierDaemon>> Start(VerifierOptions options, SecretKey key);
  ~VerifierDaemon();  // Stop()
  VerifierDaemon(const VerifierDaemon&) = delete;
  VerifierDaemon& operator=(const VerifierDaemon&) = delete;

  // Stops following, abandons fetches in progress (their jobs stay queued in the state for the
  // next run) and joins every thread.
  void Stop();

  const XOnlyPubKey& account() const;
  const std::string& backend_name() const;
  // The bound metrics address; empty when none was asked for.
  const std::string& metrics_address() const;
  uint64_t attestations_sent() const;

  struct Impl;
  explicit VerifierDaemon(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace probity::verifierd
