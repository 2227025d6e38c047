// The verifier daemon (verifierd.h): stake, events in, checks, attestations out.
//
// Events are only hints. Every job an event names is queued (durably, with the event's cursor)
// and a worker then reads the job from the chain: it acts only when the job is SAMPLED with
// this verifier assigned, and re-reads it just before sending, so a stale or duplicate event
// can never cause a wrong or second attestation.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "probity/client/events.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/verifierd/verifierd.h"
#include "verifier_state.h"

namespace probity::verifierd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kLog = "verifier";
// An attestation the chain refused this many times is given up (the job will time out).
constexpr int kMaxSends = 5;

std::string Field(const Hash256& h) { return std::string(h.begin(), h.end()); }
std::string Short(const Hash256& h) { return ToHex(h).substr(0, 16); }

// Serves every request with the same error: the provider could not even be addressed.
class Unreachable final : public OpeningSource {
 public:
  explicit Unreachable(Status why) : why_(std::move(why)) {}
  Result<Bytes> Fetch(uint64_t) override { return why_; }

 private:
  Status why_;
};

struct Metrics {
  explicit Metrics(observe::Registry& r)
      : passed(r.GetCounter("probity_verifier_checks_passed_total",
                            "Sampled segments that re-executed to the committed hash")),
        failed(r.GetCounter("probity_verifier_checks_failed_total",
                            "Sampled segments that re-executed to another hash (mismatch)")),
        withheld(r.GetCounter("probity_verifier_checks_withheld_total",
                              "Sampled segments whose opening the provider did not give")),
        malformed(r.GetCounter("probity_verifier_checks_malformed_total",
                               "Openings that were not valid openings of the segment")),
        unchecked(r.GetCounter("probity_verifier_checks_unchecked_total",
                               "Segments this verifier could not re-execute")),
        sent(r.GetCounter("probity_verifier_attestations_sent_total",
                          "Attestations committed on chain")),
        send_errors(r.GetCounter("probity_verifier_attestation_errors_total",
                                 "Attestations refused, failed or not committed in time")),
        reexecute(r.GetHistogram("probity_verifier_reexecution_seconds",
                                 "Time to judge one opening (decode, verify, re-execute)",
                                 observe::DurationBuckets())),
        in_flight(r.GetGauge("probity_verifier_jobs_in_flight", "Jobs being checked now")),
        queued(r.GetGauge("probity_verifier_jobs_queued", "Jobs waiting for a worker")) {}

  void Count(const JobCheck& check) {
    for (const auto& s : check.segments) {
      switch (s.verdict) {
        case Verdict::kOk:
          passed.Inc();
          break;
        case Verdict::kMismatch:
          failed.Inc();
          break;
        case Verdict::kWithheld:
          withheld.Inc();
          break;
        case Verdict::kMalformed:
          malformed.Inc();
          break;
        case Verdict::kUnchecked:
          unchecked.Inc();
          break;
      }
      if (s.verdict == Verdict::kOk || s.verdict == Verdict::kMismatch) {
        reexecute.Observe(s.reexecute_seconds);
      }
    }
  }

  observe::Counter& passed;
  observe::Counter& failed;
  observe::Counter& withheld;
  observe::Counter& malformed;
  observe::Counter& unchecked;
  observe::Counter& sent;
  observe::Counter& send_errors;
  observe::Histogram& reexecute;
  observe::Gauge& in_flight;
  observe::Gauge& queued;
};

// What the chain will make of the attestation: "all equal", or its first problem in draw order.
std::string Summary(const jobs::v1::Job& job, const jobs::v1::MsgAttest& msg) {
  for (const auto& sa : msg.segments()) {
    const auto& proven = job.proven_segments();
    if (std::find(proven.begin(), proven.end(), sa.index()) != proven.end()) continue;
    if (sa.withheld()) return "withheld segment " + std::to_string(sa.index());
    if (sa.recomputed_output_hash() != sa.output_hash()) {
      return "mismatch at segment " + std::to_string(sa.index());
    }
  }
  return "all equal";
}

Result<staking::v1::Params> StakingParams(const ledger::NodeClient& node) {
  PROBITY_ASSIGN_OR_RETURN(auto answer, node.QueryStore(AsBytes("staking/params")));
  if (!answer.second) return Status::Corruption("the chain has no staking params");
  staking::v1::Params p;
  if (!p.ParseFromArray(answer.second->data(), static_cast<int>(answer.second->size()))) {
    return Status::Corruption("the chain's staking params do not parse");
  }
  return p;
}

}  // namespace

struct VerifierDaemon::Impl {
  Impl(VerifierOptions o, SecretKey k)
      : options(std::move(o)),
        key(std::move(k)),
        me(key.PublicKey()),
        me_address(EncodeAddress(me)),
        chain(options.node),
        metrics(*options.registry) {}

  VerifierOptions options;
  SecretKey key;  // signs the provider requests (TxSender holds its own copy for transactions)
  XOnlyPubKey me;
  std::string me_address;
  client::ChainReader chain;
  std::unique_ptr<client::TxSender> tx;
  std::unique_ptr<VerifierState> state;
  Metrics metrics;
  std::unique_ptr<observe::MetricsServer> metrics_server;
  std::string metrics_address;
  std::string backend_name;
  std::vector<std::unique_ptr<workloads::Backend>> backends;
  std::unique_ptr<client::EventFollower> follower;
  std::vector<std::thread> workers;
  std::stop_source stop;
  std::atomic<uint64_t> sent{0};

  // The work queue. A job named again while a worker holds it is marked dirty and queued again
  // when the worker lets go, so no event is lost to a race.
  struct Item {
    Hash256 job{};
    Clock::time_point not_before;
  };
  struct Ready {  // an attestation built and not yet committed, kept so a resend re-checks nothing
    uint64_t deadline = 0;
    jobs::v1::MsgAttest msg;
    int sends = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;          // guarded by mu
  std::set<Hash256> queued;        // guarded by mu
  std::set<Hash256> running;       // guarded by mu
  std::set<Hash256> dirty;         // guarded by mu
  std::map<Hash256, Ready> ready;  // guarded by mu
  bool stopping = false;           // guarded by mu

  Status BondAndJoin();
  void OnEvent(const node::v1::EventRecord& record);
  void Enqueue(const Hash256& job, std::chrono::milliseconds delay = {});
  void WorkerLoop(workloads::Backend* backend);
  // Looks at one job; returns a delay after which to look again, or nullopt when done.
  std::optional<std::chrono::milliseconds> Process(const Hash256& id, workloads::Backend& backend);
  void Forget(const Hash256& id);
  void StopAll();
};

Status VerifierDaemon::Impl::BondAndJoin() {
  PROBITY_ASSIGN_OR_RETURN(staking::v1::Params params, StakingParams(*options.node));
  PROBITY_ASSIGN_OR_RETURN(staking::v1::Stake stake, chain.Stake(me));
  const uint64_t target = options.bond.value_or(params.min_verifier_stake());
  uint64_t bonded = stake.bonded();
  if (bonded < target) {
    staking::v1::MsgBond bond;
    bond.set_amount(target - bonded);
    auto sent_bond = tx->Send(bond);
    if (!sent_bond.ok())
      return sent_bond.status().WithContext("bonding " + std::to_string(target - bonded));
    observe::LogInfo(kLog, "bonded stake",
                     {{"amount", std::to_string(target - bonded)},
                      {"bonded", std::to_string(target)},
                      {"height", std::to_string(sent_bond->height)}});
    bonded = target;
  }
  if (stake.jailed()) {
    observe::LogWarn(kLog,
                     "this account is jailed: it is out of the verifier rotation until it "
                     "sends MsgUnjail",
                     {{"until", std::to_string(stake.jailed_until())}});
  }
  if (!stake.verifier()) {
    if (bonded < params.min_verifier_stake()) {
      return Status::FailedPrecondition(
          "bonded stake " + std::to_string(bonded) + " is below the chain's min_verifier_stake " +
          std::to_string(params.min_verifier_stake()) + ": bond more (--bond)");
    }
    staking::v1::MsgSetVerifier join;
    join.set_enabled(true);
    auto joined = tx->Send(join);
    if (!joined.ok()) return joined.status().WithContext("joining the verifier rotation");
    observe::LogInfo(kLog, "joined the verifier rotation",
                     {{"height", std::to_string(joined->height)}});
  }
  return Status::OK();
}

void VerifierDaemon::Impl::OnEvent(const node::v1::EventRecord& record) {
  const auto& event = record.event();
  auto id = client::EventId(event, "job_id");
  std::optional<Hash256> job;
  if (id.ok()) job = *id;
  if (Status s = state->TakeEvent(record.cursor(), job); !s.ok()) {
    observe::LogError(kLog, "cannot save the event cursor", {{"error", s.ToString()}});
  }
  if (!job) return;
  const bool about_me = client::EventAttribute(event, "verifier") == me_address;
  if (about_me && event.type() == "jobs.verifier_replaced") {
    observe::LogWarn(
        kLog, "replaced as the job's verifier",
        {{"job", Short(*job)}, {"reason", client::EventAttribute(event, "reason").value_or("")}});
  } else if (about_me && event.type() == "jobs.slashed") {
    observe::LogError(kLog, "slashed for attesting a segment proven wrong",
                      {{"job", Short(*job)},
                       {"amount", client::EventAttribute(event, "verifier_slashed").value_or("")}});
  }
  const bool challenger = client::EventAttribute(event, "challenger") == me_address;
  if (challenger && event.type() == "jobs.slashed") {
    observe::LogInfo(kLog, "the provider was slashed on this verifier's report",
                     {{"job", Short(*job)},
                      {"segment", client::EventAttribute(event, "segment").value_or("")},
                      {"reason", client::EventAttribute(event, "reason").value_or("")}});
  } else if (challenger && event.type() == "jobs.challenger_lost") {
    const std::string outcome = client::EventAttribute(event, "outcome").value_or("");
    observe::Log(
        outcome == "opened on chain" ? observe::LogLevel::kInfo : observe::LogLevel::kError, kLog,
        "the provider answered this verifier's report on chain",
        {{"job", Short(*job)}, {"outcome", outcome}});
  }
  Enqueue(*job);
}

void VerifierDaemon::Impl::Enqueue(const Hash256& job, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu);
  if (running.count(job)) {
    dirty.insert(job);
    return;
  }
  if (!queued.insert(job).second) return;
  queue.push_back({job, Clock::now() + delay});
  metrics.queued.Set(static_cast<double>(queue.size()));
  cv.notify_one();
}

void VerifierDaemon::Impl::WorkerLoop(workloads::Backend* backend) {
  std::unique_lock lock(mu);
  while (!stopping) {
    const auto now = Clock::now();
    auto due = std::find_if(queue.begin(), queue.end(),
                            [&](const Item& i) { return i.not_before <= now; });
    if (due == queue.end()) {
      auto next = Clock::now() + std::chrono::seconds(1);
      for (const auto& i : queue) next = std::min(next, i.not_before);
      cv.wait_until(lock, next);
      continue;
    }
    const Hash256 id = due->job;
    queue.erase(due);
    queued.erase(id);
    running.insert(id);
    metrics.queued.Set(static_cast<double>(queue.size()));
    lock.unlock();
    std::optional<std::chrono::milliseconds> again = Process(id, *backend);
    lock.lock();
    running.erase(id);
    const bool named_again = dirty.erase(id) > 0;
    if ((again || named_again) && !stopping) {
      lock.unlock();
      Enqueue(id, again.value_or(std::chrono::milliseconds(0)));
      lock.lock();
    }
  }
}

void VerifierDaemon::Impl::Forget(const Hash256& id) {
  {
    std::lock_guard lock(mu);
    ready.erase(id);
  }
  if (Status s = state->Finish(id); !s.ok()) {
    observe::LogError(kLog, "cannot update the state", {{"error", s.ToString()}});
  }
}

std::optional<std::chrono::milliseconds> VerifierDaemon::Impl::Process(
    const Hash256& id, workloads::Backend& backend) {
  using std::chrono::milliseconds;
  auto read = chain.Job(id);
  if (!read.ok()) {
    observe::LogWarn(kLog, "cannot read the job",
                     {{"job", Short(id)}, {"error", read.status().ToString()}});
    return milliseconds(2000);
  }
  const std::string me_field = Field(me);
  if (!*read || (*read)->state() != jobs::v1::JOB_STATE_SAMPLED ||
      (*read)->verifier() != me_field) {
    Forget(id);  // not (or no longer) this verifier's to attest
    return std::nullopt;
  }
  const jobs::v1::Job job = std::move(**read);
  const uint64_t deadline = job.deadline();
  auto done = state->Attested(id, deadline);
  if (done.ok() && *done) {
    Forget(id);
    return std::nullopt;
  }

  std::optional<jobs::v1::MsgAttest> attestation;
  {
    std::lock_guard lock(mu);
    auto it = ready.find(id);
    if (it != ready.end() && it->second.deadline == deadline) attestation = it->second.msg;
  }
  if (!attestation) {
    auto commitment = CommitmentOf(job);
    if (!commitment.ok()) {
      observe::LogError(kLog, "the job's commitment is unusable",
                        {{"job", Short(id)}, {"error", commitment.status().ToString()}});
      Forget(id);
      return std::nullopt;
    }
    const std::vector<uint64_t> segments = SegmentsToAttest(job);
    observe::LogInfo(kLog, "checking job",
                     {{"job", Short(id)},
                      {"segments", std::to_string(segments.size())},
                      {"round", std::to_string(job.verifier_round())},
                      {"attest_until", std::to_string(deadline)}});
    metrics.in_flight.Add(1);
    auto provider = ConnectProvider(chain, job, options.provider_security);
    std::unique_ptr<OpeningSource> openings;
    if (provider.ok()) {
      openings = std::make_unique<ProviderOpenings>(provider->get(), &key, id);
    } else {
      openings = std::make_unique<Unreachable>(provider.status());
    }
    FetchPolicy fetch = options.fetch;
    fetch.stop = stop.get_token();
    const uint64_t margin = options.attest_margin_blocks;
    fetch.give_up = [this, deadline, margin] {
      auto h = chain.Height();
      return h.ok() && *h + margin >= deadline;
    };
    JobCheck check =
        CheckSegments(id, *commitment, segments, *openings, fetch, {&backend, options.catalog, {}});
    metrics.in_flight.Add(-1);
    if (stop.stop_requested()) return std::nullopt;  // still pending in the state: next run
    metrics.Count(check);
    for (const auto& s : check.segments) {
      if (s.verdict == Verdict::kOk) continue;
      observe::LogWarn(kLog, "segment check failed",
                       {{"job", Short(id)},
                        {"segment", std::to_string(s.index)},
                        {"verdict", std::string(VerdictName(s.verdict))},
                        {"detail", s.detail}});
    }
    auto built = BuildAttestation(job, check);
    if (!built.ok()) {
      observe::LogError(kLog, "cannot attest the job",
                        {{"job", Short(id)}, {"error", built.status().ToString()}});
      Forget(id);
      return std::nullopt;
    }
    attestation = std::move(*built);
    std::lock_guard lock(mu);
    ready[id] = {deadline, *attestation, 0};
  }

  // The chain may have moved on while the check ran (a replacement, a challenge).
  auto now = chain.Job(id);
  if (!now.ok()) return milliseconds(1000);
  if (!*now || (*now)->state() != jobs::v1::JOB_STATE_SAMPLED || (*now)->verifier() != me_field ||
      (*now)->deadline() != deadline) {
    observe::LogWarn(
        kLog, "the job moved on before the attestation",
        {{"job", Short(id)}, {"state", *now ? jobs::v1::JobState_Name((*now)->state()) : "gone"}});
    Forget(id);
    return std::nullopt;
  }
  auto sent_tx = tx->Send(*attestation);
  if (!sent_tx.ok()) {
    metrics.send_errors.Inc();
    int sends;
    {
      std::lock_guard lock(mu);
      sends = ++ready[id].sends;
    }
    observe::LogWarn(kLog, "attestation not committed",
                     {{"job", Short(id)},
                      {"attempt", std::to_string(sends)},
                      {"error", sent_tx.status().ToString()}});
    if (sends >= kMaxSends) {
      observe::LogError(kLog, "giving up on the attestation", {{"job", Short(id)}});
      Forget(id);
      return std::nullopt;
    }
    return milliseconds(1000 << std::min(sends, 4));
  }
  if (Status s = state->RecordAttestation(id, deadline, {sent_tx->tx_id, sent_tx->height});
      !s.ok()) {
    observe::LogError(kLog, "cannot record the attestation", {{"error", s.ToString()}});
  }
  {
    std::lock_guard lock(mu);
    ready.erase(id);
  }
  metrics.sent.Inc();
  sent.fetch_add(1);
  observe::LogInfo(kLog, "attested",
                   {{"job", Short(id)},
                    {"result", Summary(job, *attestation)},
                    {"segments", std::to_string(attestation->segments_size())},
                    {"tx", ToHex(sent_tx->tx_id)},
                    {"height", std::to_string(sent_tx->height)}});
  return std::nullopt;
}

void VerifierDaemon::Impl::StopAll() {
  if (follower) follower->Stop();
  stop.request_stop();
  {
    std::lock_guard lock(mu);
    stopping = true;
  }
  cv.notify_all();
  for (auto& t : workers) {
    if (t.joinable()) t.join();
  }
  workers.clear();
  if (metrics_server) {
    metrics_server.reset();
    std::error_code ec;
    std::filesystem::remove(options.state_dir + "/metrics.addr", ec);
  }
}

VerifierDaemon::VerifierDaemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VerifierDaemon::~VerifierDaemon() { Stop(); }
void VerifierDaemon::Stop() {
  if (impl_) impl_->StopAll();
}
const XOnlyPubKey& VerifierDaemon::account() const { return impl_->me; }
const std::string& VerifierDaemon::backend_name() const { return impl_->backend_name; }
const std::string& VerifierDaemon::metrics_address() const { return impl_->metrics_address; }
uint64_t VerifierDaemon::attestations_sent() const { return impl_->sent.load(); }

Result<std::unique_ptr<VerifierDaemon>> VerifierDaemon::Start(VerifierOptions options,
                                                              SecretKey key) {
  if (!options.node) return Status::InvalidArgument("the verifier needs a node client");
  if (options.state_dir.empty()) return Status::InvalidArgument("the verifier needs a state dir");
  if (options.parallel_jobs < 1 || options.parallel_jobs > 64) {
    return Status::InvalidArgument("parallel jobs must be within 1..64");
  }
  if (!options.catalog) options.catalog = &workloads::DataCatalog::Default();
  if (!options.registry) options.registry = &observe::Registry::Default();

  std::string backend = options.backend;
  if (backend == "auto") {
    auto available = workloads::AvailableBackends();
    backend =
        std::find(available.begin(), available.end(), "cuda") != available.end() ? "cuda" : "cpu";
  }
  if (backend != "cpu" && backend != "cuda") {
    return Status::InvalidArgument("backend must be cpu, cuda or auto, not '" + options.backend +
                                   "'");
  }
  PROBITY_ASSIGN_OR_RETURN(SecretKey signer, SecretKey::FromBytes(key.SecretBytes()));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(key));
  impl->backend_name = backend;
  const int workers = impl->options.parallel_jobs;
  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / workers);
  for (int i = 0; i < workers; ++i) {
    PROBITY_ASSIGN_OR_RETURN(auto b, workloads::CreateBackend(backend, {.threads = threads}));
    impl->backends.push_back(std::move(b));
  }

  std::error_code ec;
  std::filesystem::create_directories(impl->options.state_dir, ec);
  if (ec) return Status::IOError("cannot create " + impl->options.state_dir + ": " + ec.message());
  PROBITY_ASSIGN_OR_RETURN(impl->state, VerifierState::Open(impl->options.state_dir + "/state.db"));
  impl->tx = std::make_unique<client::TxSender>(impl->options.node, impl->options.genesis,
                                                std::move(signer));
  PROBITY_RETURN_IF_ERROR(impl->BondAndJoin());

  const std::string addr_file = impl->options.state_dir + "/metrics.addr";
  std::filesystem::remove(addr_file, ec);
  if (!impl->options.metrics_address.empty()) {
    PROBITY_ASSIGN_OR_RETURN(
        impl->metrics_server,
        observe::MetricsServer::Start(impl->options.metrics_address, *impl->options.registry));
    impl->metrics_address = impl->metrics_server->address();
    PROBITY_RETURN_IF_ERROR(ledger::WriteFileAtomically(addr_file, impl->metrics_address + "\n"));
  }

  // Everything that can fail is done before the first thread starts.
  PROBITY_ASSIGN_OR_RETURN(std::vector<Hash256> pending, impl->state->Pending());
  client::EventFilter filter;
  filter.from_height = 1;  // a first run reads this account's whole history: nothing missed
  filter.types = {"jobs.sampled", "jobs.challenger_lost", "jobs.verifier_replaced", "jobs.slashed"};
  filter.account = impl->me_address;
  PROBITY_ASSIGN_OR_RETURN(filter.resume_after, impl->state->Cursor());

  Impl* raw = impl.get();
  for (auto& b : impl->backends) {
    workloads::Backend* backend_ptr = b.get();
    impl->workers.emplace_back([raw, backend_ptr] { raw->WorkerLoop(backend_ptr); });
  }
  for (const auto& id : pending) impl->Enqueue(id);  // what a previous run did not finish
  impl->follower = std::make_unique<client::EventFollower>(
      impl->options.node->address(), filter,
      [raw](const node::v1::EventRecord& r) { raw->OnEvent(r); },
      [](const Status& s) {
        observe::LogWarn(kLog, "event stream broke; reconnecting", {{"error", s.ToString()}});
      },
      client::BackoffPolicy{}, impl->options.node->credentials());
  impl->follower->Start();
  observe::LogInfo(kLog, "started",
                   {{"account", impl->me_address},
                    {"backend", backend},
                    {"workers", std::to_string(workers)},
                    {"pending", std::to_string(pending.size())},
                    {"metrics", impl->metrics_address}});
  return std::make_unique<VerifierDaemon>(std::move(impl));
}

}  // namespace probity::verifierd
