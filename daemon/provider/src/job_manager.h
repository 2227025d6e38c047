// The life of each job on the provider's side, from assignment to settlement: it keeps the
// journal (journal.h), takes the inputs the service accepted, runs jobs on up to `capacity`
// worker threads (each with its own Backend: a share of the CPU threads, or one GPU), stores
// each result and commits it, keeps every committed run in memory to open its segments
// (rebuilding it deterministically after a restart and checking it against the journal),
// answers disputes on chain by itself, and records settlements, slashes and expiries.
//
// Never commits twice: the journal says COMMIT_SENT (synced) before a MsgCommit goes out, and
// every commit attempt first asks the chain whether the job still waits for one; after a crash
// in COMMIT_SENT the chain is given a few blocks to include a commit still in flight before
// the daemon asks again. Jobs found RUNNING or INPUTS_COMPLETE at start are run again;
// COMPUTED and COMMIT_SENT ones go on to the commit; COMMITTED ones are rebuilt eagerly.
//
// Threads: `capacity` workers (runs and rebuilds), one for disputes, one ticking (commit
// retries). Every public method is thread-safe; OnEvent runs on the event follower's thread
// and only does cheap work (journal writes, queueing).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "blob_store.h"
#include "chain_port.h"
#include "journal.h"
#include "metrics.h"
#include "probity/node/v1/node.pb.h"
#include "probity/provider/v1/provider.pb.h"
#include "probity/workloads/workloads.h"

namespace probity::provider {

struct JobManagerOptions {
  XOnlyPubKey self{};
  std::string backend = "cpu";                // "cpu" or "cuda"
  int cuda_devices = 0;                       // with "cuda": jobs go round-robin over the devices
  uint32_t capacity = 1;                      // jobs computing at once
  int threads_per_job = 1;                    // cpu backend threads of one job
  workloads::DataCatalog* catalog = nullptr;  // training data; REQUIRED
  uint64_t checkpoint_every = 16;             // RunOptions::checkpoint_every of every run
  std::chrono::milliseconds tx_timeout{30000};
  std::chrono::milliseconds tick{500};
  std::chrono::milliseconds retry{2000};  // after a commit that was refused or unanswered
  // TEST ONLY (PROBITY_TEST_PROVIDER_FAULT): corrupt this segment of every job run; serve and
  // post no openings.
  std::optional<uint64_t> corrupt_segment;
  bool withhold_openings = false;
};

struct JobProgress {
  uint64_t segments_done = 0;
  uint64_t segment_count = 0;
  bool computing = false;
};

class JobManager {
 public:
  JobManager(JobManagerOptions options, Journal* journal, BlobStore* blobs, ChainPort* chain,
             ProviderMetrics* metrics);
  ~JobManager();  // Stop()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Loads the journal, reconciles every unfinished job with the chain's record, and starts
  // the threads.
  Status Start();
  // Stops the threads; a run in progress stops at its next segment (RUNNING in the journal: it
  // runs again at the next start).
  void Stop();

  // The journal record of a job the chain assigned to this provider (`chain`, checked by the
  // caller), created when it is new.
  Result<JournalJob> Track(const jobs::v1::Job& chain);
  std::optional<JournalJob> Find(const Hash256& job_id);

  struct AttachOutcome {
    bool already_present = false;  // the job already had this very blob in that role
    bool job_ready = false;        // every input is present (the job runs or ran)
  };
  // Records an input blob that passed input_check.h (stored as `sha256`); starts the job when
  // its inputs are complete. A role already filled keeps its blob (the first one counts).
  Result<AttachOutcome> Attach(const Hash256& job_id, provider::v1::BlobRole role,
                               const Hash256& sha256);
  // The spec accepted for the job (kFailedPrecondition before the spec was uploaded).
  Result<workloads::JobSpec> AcceptedSpec(const Hash256& job_id);
  // Roles the job still needs.
  std::vector<provider::v1::BlobRole> Missing(const JournalJob& job);

  // The result file of a computed job (kFailedPrecondition before; kNotFound when lost).
  Result<Bytes> ResultFile(const Hash256& job_id);
  // The encoded opening of `segment` of a computed job (rebuilding the run if needed).
  Result<Bytes> Opening(const Hash256& job_id, uint64_t segment);

  JobProgress Progress(const Hash256& job_id) const;
  uint32_t running() const;

  // A chain event naming this provider (the follower's account filter).
  void OnEvent(const node::v1::EventRecord& record);

 private:
  struct RunSlot {
    std::shared_ptr<workloads::JobRun> run;
    std::mutex open_mu;  // a JobRun is used by one thread at a time
  };
  struct Inputs {
    workloads::JobSpec spec;
    workloads::TensorMap model;
    workloads::Tensor images;
  };
  enum class TaskKind { kRun, kRebuild };
  struct Task {
    TaskKind kind;
    Hash256 job_id;
  };

  // Reads the job, lets `change` edit it and name its next state (the same state for a plain
  // update), writes it; under mu_. Metrics follow the state.
  Result<JournalJob> Modify(const Hash256& job_id,
                            const std::function<Result<JournalState>(JournalJob&)>& change);
  void CountState(JournalState from, JournalState to);  // REQUIRES: mu_ held
  void Reconcile(const JournalJob& job);
  // Moves the journal to what a chain record in a final state (or the job's loss) means.
  bool ApplyChainOutcome(const Hash256& id, const jobs::v1::Job* chain);

  void Enqueue(TaskKind kind, const Hash256& id);
  void Worker(int slot);
  void RunOne(int slot, const Hash256& id);
  void CommitOne(const Hash256& id);
  void DisputeLoop();
  void AnswerDispute(const Hash256& id);
  void TickLoop();

  Result<Inputs> LoadInputs(const JournalJob& job);
  Result<std::unique_ptr<workloads::Backend>> MakeBackend(int slot);
  workloads::RunOptions RunOptionsFor(const Hash256& id, bool count_progress);
  Result<std::shared_ptr<RunSlot>> EnsureRun(const Hash256& id);
  void DropRun(const Hash256& id);
  bool Stopping() const;

  const JobManagerOptions options_;
  const std::string self_address_;
  Journal* journal_;
  BlobStore* blobs_;
  ChainPort* chain_;
  ProviderMetrics* metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::deque<Task> tasks_;
  std::set<Hash256> queued_;      // jobs with a run task queued or running
  std::set<Hash256> committing_;  // CommitOne in progress
  std::deque<Hash256> disputes_;
  std::map<Hash256, JournalState> states_;  // every job the journal holds
  std::map<Hash256, JobProgress> progress_;
  std::map<Hash256, std::shared_ptr<RunSlot>> runs_;
  std::set<Hash256> rebuilding_;
  std::map<Hash256, uint64_t> resend_after_;  // COMMIT_SENT found at start: wait for this height
  std::map<Hash256, std::chrono::steady_clock::time_point> retry_at_;
  uint32_t running_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace probity::provider
