#include "job_manager.h"

#include <algorithm>

#include "authorization.h"
#include "pricing.h"
#include "probity/client/chain.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/job_result.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

namespace pv = provider::v1;
using workloads::JobKind;

constexpr std::string_view kLog = "provider";
// Blocks a commit still in flight at a crash gets to land before the daemon asks again.
constexpr uint64_t kResendAfterBlocks = 3;

std::string Short(const Hash256& id) { return ToHex(id).substr(0, 16); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const std::string* RoleField(const JournalJob& job, pv::BlobRole role) {
  switch (role) {
    case pv::BLOB_ROLE_SPEC:
      return &job.spec_sha256();
    case pv::BLOB_ROLE_MODEL:
      return &job.model_sha256();
    case pv::BLOB_ROLE_IMAGES:
      return &job.images_sha256();
    default:
      return nullptr;
  }
}

std::string* MutableRoleField(JournalJob& job, pv::BlobRole role) {
  switch (role) {
    case pv::BLOB_ROLE_SPEC:
      return job.mutable_spec_sha256();
    case pv::BLOB_ROLE_MODEL:
      return job.mutable_model_sha256();
    case pv::BLOB_ROLE_IMAGES:
      return job.mutable_images_sha256();
    default:
      return nullptr;
  }
}

bool InputsComplete(const JournalJob& job) {
  if (job.spec_sha256().empty()) return false;
  if (job.kind() != market::v1::JOB_KIND_INFER_CLASSIFIER) return true;
  return !job.model_sha256().empty() && !job.images_sha256().empty();
}

bool SameCommitment(const JournalJob& job, const jobs::v1::Job& chain) {
  return job.output_hash() == chain.output_hash() && job.trace_root() == chain.trace_root() &&
         job.segment_count() == chain.segment_count();
}

}  // namespace

JobManager::JobManager(JobManagerOptions options, Journal* journal, BlobStore* blobs,
                       ChainPort* chain, ProviderMetrics* metrics)
    : options_(std::move(options)),
      self_address_(EncodeAddress(options_.self)),
      journal_(journal),
      blobs_(blobs),
      chain_(chain),
      metrics_(metrics) {}

JobManager::~JobManager() { Stop(); }

bool JobManager::Stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

// ---- journal ----------------------------------------------------------------------------------

void JobManager::CountState(JournalState from, JournalState to) {
  if (from == to) return;
  if (from != pv::JOURNAL_STATE_UNSPECIFIED) {
    metrics_->JobsInState(std::string(JournalStateName(from))).Add(-1);
  }
  metrics_->JobsInState(std::string(JournalStateName(to))).Add(1);
  if (IsFinal(to)) metrics_->JobsFinished(std::string(JournalStateName(to))).Inc();
}

Result<JournalJob> JobManager::Modify(
    const Hash256& id, const std::function<Result<JournalState>(JournalJob&)>& change) {
  std::lock_guard lock(mu_);
  PROBITY_ASSIGN_OR_RETURN(auto current, journal_->Get(id));
  if (!current) return Status::NotFound("the journal has no job " + ToHex(id));
  JournalJob job = *current;
  const JournalState from = job.state();
  PROBITY_ASSIGN_OR_RETURN(JournalState to, change(job));
  if (to == from) {
    PROBITY_RETURN_IF_ERROR(journal_->Update(job));
  } else {
    PROBITY_RETURN_IF_ERROR(journal_->Advance(job, to));
    states_[id] = to;
    CountState(from, to);
    observe::LogDebug(kLog, "job state",
                      {{"job", Short(id)},
                       {"from", std::string(JournalStateName(from))},
                       {"to", std::string(JournalStateName(to))}});
  }
  return job;
}

Result<JournalJob> JobManager::Track(const jobs::v1::Job& chain) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256Field(chain.id(), "job id"));
  std::lock_guard lock(mu_);
  PROBITY_ASSIGN_OR_RETURN(auto existing, journal_->Get(id));
  if (existing) return *existing;
  JournalJob job;
  job.set_job_id(chain.id());
  job.set_state(pv::JOURNAL_STATE_ASSIGNED);
  job.set_kind(chain.kind());
  job.set_buyer(chain.buyer());
  job.set_input_hash(chain.input_hash());
  job.set_units(chain.units());
  job.set_price_per_unit(chain.price_per_unit());
  job.set_attempt(chain.attempt());
  job.set_assigned_height(chain.assigned_height());
  job.set_deadline(chain.deadline());
  job.set_assigned_unix_ms(NowMs());
  PROBITY_RETURN_IF_ERROR(journal_->Create(job));
  states_[id] = pv::JOURNAL_STATE_ASSIGNED;
  CountState(pv::JOURNAL_STATE_UNSPECIFIED, pv::JOURNAL_STATE_ASSIGNED);
  std::string buyer;
  if (auto b = Hash256Field(chain.buyer(), "buyer"); b.ok()) buyer = EncodeAddress(*b);
  observe::LogInfo(kLog, "job assigned",
                   {{"job", Short(id)},
                    {"kind", std::string(KindName(chain.kind()))},
                    {"units", std::to_string(chain.units())},
                    {"price_per_unit", std::to_string(chain.price_per_unit())},
                    {"buyer", buyer},
                    {"deadline", std::to_string(chain.deadline())}});
  return job;
}

std::optional<JournalJob> JobManager::Find(const Hash256& id) {
  auto job = journal_->Get(id);
  if (!job.ok()) return std::nullopt;
  return *job;
}

// ---- inputs -----------------------------------------------------------------------------------

Result<JobManager::AttachOutcome> JobManager::Attach(const Hash256& id, pv::BlobRole role,
                                                     const Hash256& sha256) {
  if (RoleField(JournalJob(), role) == nullptr) {
    return Status::InvalidArgument("unknown blob role");
  }
  AttachOutcome outcome;
  bool start = false;
  auto job = Modify(id, [&](JournalJob& j) -> Result<JournalState> {
    const std::string* have = RoleField(j, role);
    if (!have->empty()) {
      outcome.already_present = *have == FieldOf(sha256);
      outcome.job_ready = InputsComplete(j);
      return j.state();
    }
    if (j.state() != pv::JOURNAL_STATE_ASSIGNED) {
      return Status::FailedPrecondition("the job is " + std::string(JournalStateName(j.state())) +
                                        "; it takes no more inputs");
    }
    *MutableRoleField(j, role) = FieldOf(sha256);
    outcome.job_ready = InputsComplete(j);
    start = outcome.job_ready;
    return start ? pv::JOURNAL_STATE_INPUTS_COMPLETE : j.state();
  });
  if (!job.ok()) return job.status();
  if (start) {
    observe::LogInfo(kLog, "job inputs complete", {{"job", Short(id)}});
    Enqueue(TaskKind::kRun, id);
  }
  return outcome;
}

Result<workloads::JobSpec> JobManager::AcceptedSpec(const Hash256& id) {
  auto job = Find(id);
  if (!job) return Status::NotFound("the provider does not know job " + ToHex(id));
  if (job->spec_sha256().empty()) {
    return Status::FailedPrecondition("upload the job's spec first");
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 sha, Hash256Field(job->spec_sha256(), "spec blob"));
  PROBITY_ASSIGN_OR_RETURN(Bytes bytes, blobs_->Read(sha));
  return workloads::DecodeJobSpec(bytes);
}

std::vector<pv::BlobRole> JobManager::Missing(const JournalJob& job) {
  std::vector<pv::BlobRole> missing;
  if (job.spec_sha256().empty()) missing.push_back(pv::BLOB_ROLE_SPEC);
  if (job.kind() == market::v1::JOB_KIND_INFER_CLASSIFIER) {
    if (job.model_sha256().empty()) missing.push_back(pv::BLOB_ROLE_MODEL);
    if (job.images_sha256().empty()) missing.push_back(pv::BLOB_ROLE_IMAGES);
  }
  return missing;
}

Result<JobManager::Inputs> JobManager::LoadInputs(const JournalJob& job) {
  Inputs in;
  PROBITY_ASSIGN_OR_RETURN(Hash256 spec_sha, Hash256Field(job.spec_sha256(), "spec blob"));
  PROBITY_ASSIGN_OR_RETURN(Bytes spec_bytes, blobs_->Read(spec_sha));
  PROBITY_ASSIGN_OR_RETURN(in.spec, workloads::DecodeJobSpec(spec_bytes));
  if (in.spec.kind == JobKind::kInferClassifier) {
    PROBITY_ASSIGN_OR_RETURN(Hash256 model_sha, Hash256Field(job.model_sha256(), "model blob"));
    PROBITY_ASSIGN_OR_RETURN(Bytes model_bytes, blobs_->Read(model_sha));
    PROBITY_ASSIGN_OR_RETURN(in.model, workloads::DecodeSafetensors(model_bytes));
    PROBITY_ASSIGN_OR_RETURN(Hash256 images_sha, Hash256Field(job.images_sha256(), "images blob"));
    PROBITY_ASSIGN_OR_RETURN(Bytes images_bytes, blobs_->Read(images_sha));
    PROBITY_ASSIGN_OR_RETURN(in.images, workloads::DecodeTensor(images_bytes));
  }
  return in;
}

// ---- running ----------------------------------------------------------------------------------

Result<std::unique_ptr<workloads::Backend>> JobManager::MakeBackend(int slot) {
  if (options_.backend == "cuda") {
    const int devices = std::max(1, options_.cuda_devices);
    return workloads::CreateBackend("cuda", {.cuda_device = std::max(0, slot) % devices});
  }
  return workloads::CreateBackend("cpu", {.threads = options_.threads_per_job});
}

workloads::RunOptions JobManager::RunOptionsFor(const Hash256& id, bool count_progress) {
  workloads::RunOptions o;
  o.checkpoint_every = options_.checkpoint_every;
  o.corrupt_segment = options_.corrupt_segment;
  o.should_stop = [this] { return Stopping(); };
  if (count_progress) {
    auto last_log =
        std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
    o.progress = [this, id, last_log](uint64_t done, uint64_t total) {
      metrics_->segments_computed.Inc();
      {
        std::lock_guard lock(mu_);
        progress_[id] = {done, total, done < total};
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - *last_log >= std::chrono::seconds(5) || done == total) {
        *last_log = now;
        observe::LogInfo(
            kLog, "job progress",
            {{"job", Short(id)}, {"segments", std::to_string(done) + "/" + std::to_string(total)}});
      }
    };
  }
  return o;
}

void JobManager::Enqueue(TaskKind kind, const Hash256& id) {
  std::lock_guard lock(mu_);
  if (kind == TaskKind::kRun && !queued_.insert(id).second) return;
  tasks_.push_back({kind, id});
  cv_.notify_all();
}

void JobManager::Worker(int slot) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = tasks_.front();
      tasks_.pop_front();
    }
    if (task.kind == TaskKind::kRun) {
      RunOne(slot, task.job_id);
      std::lock_guard lock(mu_);
      queued_.erase(task.job_id);
    } else {
      auto run = EnsureRun(task.job_id);
      if (!run.ok() && !Stopping()) {
        observe::LogError(kLog, "cannot rebuild a committed run",
                          {{"job", Short(task.job_id)}, {"error", run.status().message()}});
      }
    }
  }
}

void JobManager::RunOne(int slot, const Hash256& id) {
  auto job = Find(id);
  if (!job) return;
  const JournalState s = job->state();
  if (s != pv::JOURNAL_STATE_INPUTS_COMPLETE && s != pv::JOURNAL_STATE_RUNNING &&
      s != pv::JOURNAL_STATE_COMPUTED) {
    return;
  }
  // The chain may have moved on (expired while queued, or while this daemon was down).
  auto chain = chain_->Job(id);
  if (chain.ok()) {
    if (ApplyChainOutcome(id, chain->has_value() ? &**chain : nullptr)) return;
    if (*chain && (*chain)->state() != jobs::v1::JOB_STATE_ASSIGNED) {
      // Committed already (a result lost after the commit): keep the journal's view.
      if (HasCommitment(**chain)) return;
    }
  }
  auto started = Modify(id, [&](JournalJob& j) -> Result<JournalState> {
    j.set_runs(j.runs() + 1);
    return pv::JOURNAL_STATE_RUNNING;
  });
  if (!started.ok()) {
    observe::LogWarn(kLog, "job not started",
                     {{"job", Short(id)}, {"why", started.status().message()}});
    return;
  }
  auto inputs = LoadInputs(*started);
  if (!inputs.ok()) {
    if (inputs.status().code() == Code::kNotFound) {
      // An input blob was lost (damaged on disk): ask for it again.
      observe::LogError(kLog, "job input lost; waiting for the buyer to upload it again",
                        {{"job", Short(id)}, {"error", inputs.status().message()}});
      (void)Modify(id, [&](JournalJob& j) -> Result<JournalState> {
        for (auto role : {pv::BLOB_ROLE_SPEC, pv::BLOB_ROLE_MODEL, pv::BLOB_ROLE_IMAGES}) {
          const std::string* f = RoleField(j, role);
          if (f->size() == 32 && !blobs_->Has(*Hash256Field(*f, "blob"))) {
            MutableRoleField(j, role)->clear();
          }
        }
        return pv::JOURNAL_STATE_ASSIGNED;
      });
      return;
    }
    (void)Modify(id, [&](JournalJob& j) -> Result<JournalState> {
      j.set_error(inputs.status().message());
      return pv::JOURNAL_STATE_FAILED;
    });
    return;
  }
  auto backend = MakeBackend(slot);
  if (!backend.ok()) {
    observe::LogError(kLog, "no backend for the job",
                      {{"job", Short(id)}, {"error", backend.status().message()}});
    return;  // stays RUNNING: the next start runs it again
  }
  observe::LogInfo(kLog, "job started",
                   {{"job", Short(id)},
                    {"backend", (*backend)->Describe()},
                    {"run", std::to_string(started->runs())}});
  {
    std::lock_guard lock(mu_);
    ++running_;
    metrics_->running.Set(running_);
  }
  const workloads::JobInputs job_inputs{
      .catalog = options_.catalog, .model = &inputs->model, .images = &inputs->images};
  auto run = workloads::RunJob(inputs->spec, job_inputs, **backend, RunOptionsFor(id, true));
  {
    std::lock_guard lock(mu_);
    --running_;
    metrics_->running.Set(running_);
    progress_[id].computing = false;
  }
  if (!run.ok()) {
    if (Stopping()) return;  // RUNNING in the journal: it runs again at the next start
    observe::LogError(kLog, "job failed", {{"job", Short(id)}, {"error", run.status().message()}});
    (void)Modify(id, [&](JournalJob& j) -> Result<JournalState> {
      j.set_error(run.status().message());
      return pv::JOURNAL_STATE_FAILED;
    });
    return;
  }
  std::shared_ptr<workloads::JobRun> done = std::move(run).value();
  auto file = workloads::EncodeJobResult(*done);
  Result<Hash256> sha = file.ok() ? blobs_->Put(*file) : Result<Hash256>(file.status());
  if (!sha.ok()) {
    observe::LogError(kLog, "cannot store the job's result",
                      {{"job", Short(id)}, {"error", sha.status().message()}});
    return;  // stays RUNNING: the next start runs it again
  }
  const workloads::JobCommitment& c = done->commitment();
  const double seconds = done->timings().total_seconds;
  auto computed = Modify(id, [&](JournalJob& j) -> Result<JournalState> {
    j.set_result_sha256(FieldOf(*sha));
    j.set_result_bytes(file->size());
    j.set_output_hash(FieldOf(c.output_hash));
    j.set_trace_root(FieldOf(c.trace_root));
    j.set_segment_count(c.segment_count);
    j.set_compute_seconds(seconds);
    return pv::JOURNAL_STATE_COMPUTED;
  });
  if (!computed.ok()) {
    observe::LogWarn(kLog, "job result not recorded",
                     {{"job", Short(id)}, {"why", computed.status().message()}});
    return;
  }
  metrics_->job_seconds.Observe(seconds);
  {
    std::lock_guard lock(mu_);
    auto slot_ptr = std::make_shared<RunSlot>();
    slot_ptr->run = done;
    runs_[id] = slot_ptr;
  }
  observe::LogInfo(kLog, "job computed",
                   {{"job", Short(id)},
                    {"segments", std::to_string(c.segment_count)},
                    {"seconds", std::to_string(seconds)},
                    {"output_hash", ToHex(c.output_hash)}});
  CommitOne(id);
}

// ---- committing -------------------------------------------------------------------------------

bool JobManager::ApplyChainOutcome(const Hash256& id, const jobs::v1::Job* chain) {
  auto job = Find(id);
  if (!job || IsFinal(job->state())) return job.has_value();
  JournalState to = pv::JOURNAL_STATE_UNSPECIFIED;
  std::string why;
  if (chain == nullptr) {
    to = pv::JOURNAL_STATE_FAILED;
    why = "the chain has no such job";
  } else if (!FieldIs(chain->provider(), options_.self) || chain->attempt() != job->attempt() ||
             chain->state() == jobs::v1::JOB_STATE_EXPIRED) {
    to = pv::JOURNAL_STATE_EXPIRED;
    why = "the commit deadline passed";
  } else if (chain->state() == jobs::v1::JOB_STATE_SETTLED) {
    to = pv::JOURNAL_STATE_SETTLED;
  } else if (chain->state() == jobs::v1::JOB_STATE_SLASHED) {
    to = pv::JOURNAL_STATE_SLASHED;
  } else {
    return false;
  }
  if ((to == pv::JOURNAL_STATE_SETTLED || to == pv::JOURNAL_STATE_SLASHED) &&
      job->state() != pv::JOURNAL_STATE_COMMITTED &&
      job->state() != pv::JOURNAL_STATE_COMMIT_SENT) {
    // A settlement of a job this journal never saw committed: it lost track of it.
    to = pv::JOURNAL_STATE_FAILED;
    why = "the chain finished the job without this journal's commit";
  }
  auto r = Modify(id, [&](JournalJob& j) -> Result<JournalState> {
    if (!why.empty()) j.set_error(why);
    if (to == pv::JOURNAL_STATE_SETTLED && j.earned() == 0 && chain != nullptr) {
      j.set_earned(chain->price_per_unit() * chain->units());
    }
    return to;
  });
  if (r.ok()) {
    observe::LogInfo(
        kLog, "job finished",
        {{"job", Short(id)}, {"state", std::string(JournalStateName(to))}, {"why", why}});
  }
  DropRun(id);
  return true;
}

void JobManager::CommitOne(const Hash256& id) {
  {
    std::lock_guard lock(mu_);
    if (!committing_.insert(id).second) return;
  }
  struct Release {
    JobManager* m;
    Hash256 id;
    ~Release() {
      std::lock_guard lock(m->mu_);
      m->committing_.erase(id);
    }
  } release{this, id};
  auto retry_later = [&](std::chrono::milliseconds after) {
    std::lock_guard lock(mu_);
    retry_at_[id] = std::chrono::steady_clock::now() + after;
  };

  auto job = Find(id);
  if (!job) return;
  if (job->state() != pv::JOURNAL_STATE_COMPUTED && job->state() != pv::JOURNAL_STATE_COMMIT_SENT) {
    return;
  }
  auto chain = chain_->Job(id);
  if (!chain.ok()) {
    observe::LogWarn(kLog, "cannot read the job from the chain; will retry",
                     {{"job", Short(id)}, {"error", chain.status().message()}});
    return retry_later(options_.retry / 2);
  }
  if (ApplyChainOutcome(id, chain->has_value() ? &**chain : nullptr)) return;
  const jobs::v1::Job& on_chain = **chain;
  if (HasCommitment(on_chain)) {
    if (!SameCommitment(*job, on_chain)) {
      observe::LogError(kLog, "ALARM: the chain holds another commitment for this job",
                        {{"job", Short(id)},
                         {"chain_output", ToHex(AsBytes(on_chain.output_hash()))},
                         {"journal_output", ToHex(AsBytes(job->output_hash()))}});
      (void)Modify(id, [&](JournalJob& j) -> Result<JournalState> {
        j.set_error("the chain holds another commitment");
        return pv::JOURNAL_STATE_FAILED;
      });
      return;
    }
    (void)Modify(id, [&](JournalJob& j) -> Result<JournalState> {
      j.set_commit_height(on_chain.commit_height());
      return pv::JOURNAL_STATE_COMMITTED;
    });
    observe::LogInfo(kLog, "job committed (found on chain)", {{"job", Short(id)}});
    return;
  }
  if (on_chain.state() != jobs::v1::JOB_STATE_ASSIGNED) return retry_later(options_.retry / 2);
  auto height = chain_->Height();
  if (!height.ok()) return retry_later(options_.retry / 2);
  {
    std::lock_guard lock(mu_);
    auto it = resend_after_.find(id);
    if (it != resend_after_.end()) {
      if (it->second == 0) it->second = *height + kResendAfterBlocks;  // height unknown at start
      if (*height < it->second) {
        retry_at_[id] = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        return;
      }
      resend_after_.erase(it);
    }
  }
  if (*height >= on_chain.deadline()) {
    observe::LogWarn(kLog, "the commit deadline has passed; waiting for the chain's expiry",
                     {{"job", Short(id)}, {"deadline", std::to_string(on_chain.deadline())}});
    return retry_later(options_.retry);
  }
  // Written (synced) before the transaction exists anywhere: a crash from here on finds
  // COMMIT_SENT and asks the chain before sending again.
  auto sent =
      Modify(id, [](JournalJob&) -> Result<JournalState> { return pv::JOURNAL_STATE_COMMIT_SENT; });
  if (!sent.ok()) return;
  jobs::v1::MsgCommit msg;
  msg.set_job_id(FieldOf(id));
  msg.set_output_hash(sent->output_hash());
  msg.set_trace_root(sent->trace_root());
  msg.set_segment_count(sent->segment_count());
  msg.set_result_bytes(sent->result_bytes());
  auto outcome = chain_->Send(msg, options_.tx_timeout);
  if (!outcome.ok()) {
    observe::LogWarn(kLog, "commit not confirmed; the chain will be asked again",
                     {{"job", Short(id)}, {"error", outcome.status().message()}});
    return retry_later(options_.retry);
  }
  metrics_->commits_sent.Inc();
  auto committed = Modify(id, [&](JournalJob& j) -> Result<JournalState> {
    j.set_commit_height(outcome->height);
    return pv::JOURNAL_STATE_COMMITTED;
  });
  observe::LogInfo(kLog, "job committed",
                   {{"job", Short(id)},
                    {"height", std::to_string(outcome->height)},
                    {"tx", ToHex(outcome->tx_id).substr(0, 16)},
                    {"output_hash", ToHex(AsBytes(sent->output_hash()))}});
}

// ---- runs kept for openings -------------------------------------------------------------------

Result<std::shared_ptr<JobManager::RunSlot>> JobManager::EnsureRun(const Hash256& id) {
  {
    std::unique_lock lock(mu_);
    for (;;) {
      if (auto it = runs_.find(id); it != runs_.end()) return it->second;
      if (stopping_) return Status::Unavailable("the provider is stopping");
      if (!rebuilding_.count(id)) break;
      cv_.wait(lock);
    }
    rebuilding_.insert(id);
  }
  struct Done {
    JobManager* m;
    Hash256 id;
    ~Done() {
      std::lock_guard lock(m->mu_);
      m->rebuilding_.erase(id);
      m->cv_.notify_all();
    }
  } done{this, id};
  auto job = Find(id);
  if (!job) return Status::NotFound("the provider does not know job " + ToHex(id));
  if (job->output_hash().empty()) {
    return Status::FailedPrecondition("job " + ToHex(id) + " has not been computed");
  }
  PROBITY_ASSIGN_OR_RETURN(Inputs inputs, LoadInputs(*job));
  PROBITY_ASSIGN_OR_RETURN(auto backend, MakeBackend(0));
  observe::LogInfo(kLog, "rebuilding a committed run for its openings", {{"job", Short(id)}});
  const workloads::JobInputs job_inputs{
      .catalog = options_.catalog, .model = &inputs.model, .images = &inputs.images};
  PROBITY_ASSIGN_OR_RETURN(
      std::unique_ptr<workloads::JobRun> run,
      workloads::RunJob(inputs.spec, job_inputs, *backend, RunOptionsFor(id, false)));
  const workloads::JobCommitment& c = run->commitment();
  if (FieldOf(c.output_hash) != job->output_hash() || FieldOf(c.trace_root) != job->trace_root() ||
      c.segment_count != job->segment_count()) {
    observe::LogError(kLog, "ALARM: the rebuilt run differs from the journal's commitment",
                      {{"job", Short(id)},
                       {"rebuilt_output", ToHex(c.output_hash)},
                       {"journal_output", ToHex(AsBytes(job->output_hash()))}});
    return Status::Internal("the rebuilt run of job " + ToHex(id) +
                            " does not reproduce its commitment");
  }
  auto slot = std::make_shared<RunSlot>();
  slot->run = std::move(run);
  std::lock_guard lock(mu_);
  runs_[id] = slot;
  return slot;
}

void JobManager::DropRun(const Hash256& id) {
  std::lock_guard lock(mu_);
  runs_.erase(id);
  progress_.erase(id);
}

Result<Bytes> JobManager::ResultFile(const Hash256& id) {
  auto job = Find(id);
  if (!job) return Status::NotFound("the provider does not know job " + ToHex(id));
  if (job->result_sha256().empty()) {
    return Status::FailedPrecondition("job " + ToHex(id) + " has no result yet");
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 sha, Hash256Field(job->result_sha256(), "result blob"));
  auto bytes = blobs_->Read(sha);
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
    // Damaged or deleted: compute it again (deterministic), then the buyer retries.
    observe::LogError(kLog, "a committed result is missing; recomputing it", {{"job", Short(id)}});
    auto rebuilt = EnsureRun(id);
    if (rebuilt.ok()) {
      std::lock_guard run_lock((*rebuilt)->open_mu);
      auto file = workloads::EncodeJobResult(*(*rebuilt)->run);
      if (file.ok() && blobs_->Put(*file).ok()) return std::move(file).value();
    }
  }
  return bytes;
}

Result<Bytes> JobManager::Opening(const Hash256& id, uint64_t segment) {
  if (options_.withhold_openings) {
    return Status::Unavailable("this provider withholds its openings (test fault)");
  }
  auto job = Find(id);
  if (!job) return Status::NotFound("the provider does not know job " + ToHex(id));
  if (job->output_hash().empty()) {
    return Status::FailedPrecondition("job " + ToHex(id) + " has not been computed");
  }
  if (segment >= job->segment_count()) {
    return Status::OutOfRange("segment " + std::to_string(segment) + " of a job with " +
                              std::to_string(job->segment_count()) + " segments");
  }
  PROBITY_ASSIGN_OR_RETURN(auto slot, EnsureRun(id));
  PROBITY_ASSIGN_OR_RETURN(auto backend, MakeBackend(0));
  std::lock_guard lock(slot->open_mu);
  PROBITY_ASSIGN_OR_RETURN(workloads::Opening opening, slot->run->Open(segment, *backend));
  return workloads::EncodeOpening(opening);
}

JobProgress JobManager::Progress(const Hash256& id) const {
  std::lock_guard lock(mu_);
  auto it = progress_.find(id);
  return it == progress_.end() ? JobProgress{} : it->second;
}

uint32_t JobManager::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

// ---- disputes ---------------------------------------------------------------------------------

void JobManager::DisputeLoop() {
  for (;;) {
    Hash256 id;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !disputes_.empty(); });
      if (stopping_) return;
      id = disputes_.front();
      disputes_.pop_front();
    }
    AnswerDispute(id);
  }
}

void JobManager::AnswerDispute(const Hash256& id) {
  while (!Stopping()) {
    auto chain = chain_->Job(id);
    auto height = chain_->Height();
    if (chain.ok() && height.ok()) {
      if (!*chain || (*chain)->state() != jobs::v1::JOB_STATE_DISPUTED ||
          (*chain)->dispute().outcome() != jobs::v1::DISPUTE_OUTCOME_PENDING) {
        return;  // resolved, or never ours to answer
      }
      const jobs::v1::Dispute& d = (*chain)->dispute();
      if (*height > d.opening_deadline()) return;
      if (options_.withhold_openings) {
        observe::LogWarn(kLog, "dispute left unanswered (test fault: withhold-openings)",
                         {{"job", Short(id)}, {"segment", std::to_string(d.segment())}});
        return;
      }
      auto opening = Opening(id, d.segment());
      if (opening.ok()) {
        jobs::v1::MsgPostOpening msg;
        msg.set_job_id(FieldOf(id));
        msg.set_opening(opening->data(), opening->size());
        auto sent = chain_->Send(msg, options_.tx_timeout);
        if (sent.ok()) {
          metrics_->openings_posted.Inc();
          (void)Modify(id, [](JournalJob& j) -> Result<JournalState> {
            j.set_openings_posted(j.openings_posted() + 1);
            return j.state();
          });
          observe::LogInfo(kLog, "dispute answered with an on-chain opening",
                           {{"job", Short(id)},
                            {"segment", std::to_string(d.segment())},
                            {"bytes", std::to_string(opening->size())},
                            {"height", std::to_string(sent->height)}});
          return;
        }
        observe::LogWarn(kLog, "cannot post the opening; retrying",
                         {{"job", Short(id)}, {"error", sent.status().message()}});
      } else {
        observe::LogError(kLog, "cannot open the disputed segment",
                          {{"job", Short(id)}, {"error", opening.status().message()}});
        if (opening.status().code() == Code::kNotFound) return;
      }
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
}

// ---- events -----------------------------------------------------------------------------------

void JobManager::OnEvent(const node::v1::EventRecord& record) {
  const types::v1::Event& event = record.event();
  const std::string& type = event.type();
  if (type.rfind("jobs.", 0) != 0) return;
  // The account filter also matches events naming this key as buyer, verifier or challenger.
  if (client::EventAttribute(event, "provider") != self_address_) return;
  auto id = client::EventId(event, "job_id");
  if (!id.ok()) {
    observe::LogWarn(kLog, "event without a job id", {{"type", type}});
    return;
  }
  if (type == "jobs.assigned") {
    // The follower delivers each event once: a node that is briefly unreachable must not make
    // this provider miss its job (the buyer's first upload would still bring it in).
    auto chain = chain_->Job(*id);
    for (int attempt = 1; !chain.ok() && attempt < 20 && !Stopping(); ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      chain = chain_->Job(*id);
    }
    if (!chain.ok() || !*chain) {
      observe::LogError(
          kLog, "cannot read an assigned job from the chain",
          {{"job", Short(*id)}, {"error", chain.ok() ? "absent" : chain.status().message()}});
      return;
    }
    if (!FieldIs((*chain)->provider(), options_.self)) return;  // re-assigned since
    if (auto tracked = Track(**chain); !tracked.ok()) {
      observe::LogError(kLog, "cannot journal an assigned job",
                        {{"job", Short(*id)}, {"error", tracked.status().message()}});
      return;
    }
    ApplyChainOutcome(*id, &**chain);
    return;
  }
  auto job = Find(*id);
  if (!job) return;  // not a job this journal took (it was wiped, or another attempt)
  if (type == "jobs.committed") {
    auto chain = chain_->Job(*id);
    if (chain.ok() && *chain && SameCommitment(*job, **chain) &&
        (job->state() == pv::JOURNAL_STATE_COMPUTED ||
         job->state() == pv::JOURNAL_STATE_COMMIT_SENT)) {
      (void)Modify(*id, [&](JournalJob& j) -> Result<JournalState> {
        j.set_commit_height((*chain)->commit_height());
        return pv::JOURNAL_STATE_COMMITTED;
      });
    }
  } else if (type == "jobs.disputed") {
    observe::LogWarn(kLog, "job disputed",
                     {{"job", Short(*id)},
                      {"segment", client::EventAttribute(event, "segment").value_or("?")},
                      {"kind", client::EventAttribute(event, "kind").value_or("?")}});
    std::lock_guard lock(mu_);
    disputes_.push_back(*id);
    cv_.notify_all();
  } else if (type == "jobs.settled") {
    uint64_t paid = 0;
    if (auto p = client::EventAttribute(event, "provider_paid")) {
      paid = std::strtoull(p->c_str(), nullptr, 10);
    }
    auto r = Modify(*id, [&](JournalJob& j) -> Result<JournalState> {
      j.set_earned(paid);
      return pv::JOURNAL_STATE_SETTLED;
    });
    if (r.ok()) {
      metrics_->payments_earned.Inc(paid);
      observe::LogInfo(kLog, "job settled", {{"job", Short(*id)}, {"paid", std::to_string(paid)}});
    }
    DropRun(*id);
  } else if (type == "jobs.slashed" || type == "jobs.expired") {
    const bool slashed = type == "jobs.slashed";
    auto r = Modify(*id, [&](JournalJob& j) -> Result<JournalState> {
      j.set_error(slashed ? "slashed: " + client::EventAttribute(event, "reason").value_or("")
                          : "the commit deadline passed");
      return slashed ? pv::JOURNAL_STATE_SLASHED : pv::JOURNAL_STATE_EXPIRED;
    });
    if (r.ok()) {
      observe::LogWarn(
          kLog, slashed ? "job slashed" : "job expired",
          {{"job", Short(*id)},
           {"provider_slashed", client::EventAttribute(event, "provider_slashed").value_or("?")}});
    }
    DropRun(*id);
  } else if (type == "jobs.challenger_lost") {
    observe::LogInfo(kLog, "dispute won", {{"job", Short(*id)}});
  } else if (type == "jobs.verified" || type == "jobs.sampled") {
    observe::LogInfo(kLog, type == "jobs.verified" ? "job verified" : "job sampled",
                     {{"job", Short(*id)}});
  }
}

// ---- start, reconcile, tick -------------------------------------------------------------------

void JobManager::Reconcile(const JournalJob& job) {
  auto id = Hash256Field(job.job_id(), "job id");
  if (!id.ok()) return;
  auto chain = chain_->Job(*id);
  if (chain.ok() && ApplyChainOutcome(*id, chain->has_value() ? &**chain : nullptr)) return;
  switch (job.state()) {
    case pv::JOURNAL_STATE_ASSIGNED:
      break;  // waiting for the buyer
    case pv::JOURNAL_STATE_INPUTS_COMPLETE:
    case pv::JOURNAL_STATE_RUNNING:
      observe::LogInfo(kLog, "job interrupted before its result; running it again",
                       {{"job", Short(*id)}});
      Enqueue(TaskKind::kRun, *id);
      break;
    case pv::JOURNAL_STATE_COMPUTED:
    case pv::JOURNAL_STATE_COMMIT_SENT: {
      Hash256 sha{};
      if (auto s = Hash256Field(job.result_sha256(), "result"); s.ok()) sha = *s;
      if (!blobs_->Has(sha) && !(chain.ok() && *chain && HasCommitment(**chain))) {
        Enqueue(TaskKind::kRun, *id);  // the result was lost before any commit: compute again
        break;
      }
      if (job.state() == pv::JOURNAL_STATE_COMMIT_SENT) {
        auto height = chain_->Height();
        std::lock_guard lock(mu_);
        resend_after_[*id] = height.ok() ? *height + kResendAfterBlocks : 0;
      }
      break;  // the tick commits it
    }
    case pv::JOURNAL_STATE_COMMITTED:
      Enqueue(TaskKind::kRebuild, *id);
      if (chain.ok() && *chain && (*chain)->state() == jobs::v1::JOB_STATE_DISPUTED) {
        std::lock_guard lock(mu_);
        disputes_.push_back(*id);
      }
      break;
    default:
      break;
  }
}

Status JobManager::Start() {
  if (options_.catalog == nullptr) return Status::InvalidArgument("JobManager needs a catalog");
  PROBITY_ASSIGN_OR_RETURN(std::vector<JournalJob> all, journal_->All());
  {
    std::lock_guard lock(mu_);
    for (const JournalJob& j : all) {
      auto id = Hash256Field(j.job_id(), "job id");
      if (!id.ok()) continue;
      states_[*id] = j.state();
      metrics_->JobsInState(std::string(JournalStateName(j.state()))).Add(1);
    }
  }
  uint32_t unfinished = 0;
  for (const JournalJob& j : all) {
    if (IsFinal(j.state())) continue;
    ++unfinished;
    Reconcile(j);
  }
  if (unfinished > 0) {
    observe::LogInfo(
        kLog, "journal reconciled with the chain",
        {{"jobs", std::to_string(all.size())}, {"unfinished", std::to_string(unfinished)}});
  }
  for (uint32_t i = 0; i < options_.capacity; ++i) {
    threads_.emplace_back([this, i] { Worker(static_cast<int>(i)); });
  }
  threads_.emplace_back([this] { DisputeLoop(); });
  threads_.emplace_back([this] { TickLoop(); });
  return Status::OK();
}

void JobManager::TickLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.tick, [&] { return stopping_; });
      if (stopping_) return;
    }
    std::vector<Hash256> due;
    {
      std::lock_guard lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [id, state] : states_) {
        if (state != pv::JOURNAL_STATE_COMPUTED && state != pv::JOURNAL_STATE_COMMIT_SENT) continue;
        if (committing_.count(id) || queued_.count(id)) continue;
        auto r = retry_at_.find(id);
        if (r != retry_at_.end() && r->second > now) continue;
        due.push_back(id);
      }
    }
    for (const Hash256& id : due) CommitOne(id);
  }
}

void JobManager::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace probity::provider
