// The provider service's request handling, in process (no network): a request's wire bytes
// parsed as gRPC would, its RequestAuth checked (client::VerifyProviderRequest), the chain's
// job record consulted (authorization.h), and the handler run (GetOpening, JobStatus, Info);
// and the checks an uploaded input passes (input_check.h: spec, model, images). Input: a byte
// choosing the handler, a byte choosing the chain's job state, a byte choosing who signs (0:
// the request's own auth, untouched; else the buyer, the verifier, a bonded auditor or a
// stranger signs it properly, so that the fuzzer reaches past the signature), then the request
// message (or the uploaded blob).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "fixtures.h"
#include "input_check.h"
#include "job_manager.h"
#include "journal.h"
#include "metrics.h"
#include "probity/client/provider_client.h"
#include "probity/observe/observe.h"
#include "probity/primitives/sha256.h"
#include "quiet_protobuf.h"
#include "service.h"

using namespace probity;
namespace pv = probity::provider::v1;

namespace {

const Hash256 kJobId = Sha256("fuzz provider job");

std::string Field(ByteView b) { return std::string(b.begin(), b.end()); }

// The chain as the service sees it: one job, whose record each input sets, and stakes.
class FuzzChain final : public provider::ChainPort {
 public:
  void SetJob(jobs::v1::Job job) {
    std::lock_guard l(mu_);
    job_ = std::move(job);
  }
  Result<std::optional<jobs::v1::Job>> Job(const Hash256& id) override {
    std::lock_guard l(mu_);
    if (id != kJobId) return std::optional<jobs::v1::Job>();
    return std::optional<jobs::v1::Job>(job_);
  }
  Result<std::optional<market::v1::Order>> Order(const Hash256&) override {
    return std::optional<market::v1::Order>();
  }
  Result<staking::v1::Stake> Stake(const XOnlyPubKey& account) override {
    staking::v1::Stake s;
    if (account == fuzz::FixedKey(5).PublicKey()) {  // the bonded auditor
      s.set_verifier(true);
      s.set_bonded(500000);
    }
    return s;
  }
  Result<uint64_t> Height() override { return 100; }
  Result<market::v1::Params> MarketParams() override { return market::v1::Params(); }
  Result<staking::v1::Params> StakingParams() override { return staking::v1::Params(); }
  Result<market::v1::QueryProviderResponse> ProviderOffers(const XOnlyPubKey&) override {
    return market::v1::QueryProviderResponse();
  }
  Result<client::TxOutcome> Send(const google::protobuf::Message&,
                                 std::chrono::milliseconds) override {
    return Status::Unavailable("the fuzzed chain takes no transactions");
  }

 private:
  std::mutex mu_;
  jobs::v1::Job job_;
};

struct Rig {
  XOnlyPubKey self = fuzz::FixedKey(2).PublicKey();
  std::string dir;
  observe::Registry registry;
  provider::ProviderMetrics metrics{registry};
  FuzzChain chain;
  std::unique_ptr<provider::Journal> journal;
  std::unique_ptr<provider::BlobStore> blobs;
  std::unique_ptr<provider::JobManager> jobs;
  std::unique_ptr<provider::ProviderService> service;
  workloads::JobSpec spec = fuzz::InferJob().spec;

  Rig() {
    dir = (std::filesystem::temp_directory_path() / "probity-fuzz-provider-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) std::abort();
    journal = provider::Journal::Open(dir + "/journal").value();
    blobs = provider::BlobStore::Open(dir + "/blobs", 1u << 20).value();
    provider::JobManagerOptions o;
    o.self = self;
    o.catalog = &workloads::DataCatalog::Default();
    // Never started: no worker threads, the handlers alone.
    jobs = std::make_unique<provider::JobManager>(o, journal.get(), blobs.get(), &chain, &metrics);
    provider::ServiceDeps deps;
    deps.self = self;
    deps.jobs = jobs.get();
    deps.blobs = blobs.get();
    deps.chain = &chain;
    deps.catalog = &workloads::DataCatalog::Default();
    deps.metrics = &metrics;
    service = std::make_unique<provider::ProviderService>(std::move(deps));
  }

  jobs::v1::Job JobIn(jobs::v1::JobState state) const {
    jobs::v1::Job j;
    j.set_id(Field(kJobId));
    j.set_provider(Field(self));
    j.set_buyer(Field(fuzz::FixedKey(3).PublicKey()));
    j.set_verifier(Field(fuzz::FixedKey(4).PublicKey()));
    j.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
    j.set_input_hash(Field(workloads::JobInputHash(spec)));
    j.set_units(1'000'000);
    j.set_state(state);
    j.set_segment_count(4);
    if (state != jobs::v1::JOB_STATE_ASSIGNED) {
      const auto& c = fuzz::InferJob().run->commitment();
      j.set_output_hash(Field(c.output_hash));
      j.set_trace_root(Field(c.trace_root));
    }
    return j;
  }
};

Rig& TheRig() {
  static Rig* rig = [] {
    auto* r = new Rig();
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(TheRig().dir, ec);
    });
    return r;
  }();
  return *rig;
}

const jobs::v1::JobState kStates[] = {jobs::v1::JOB_STATE_ASSIGNED, jobs::v1::JOB_STATE_COMMITTED,
                                      jobs::v1::JOB_STATE_SAMPLED,  jobs::v1::JOB_STATE_VERIFIED,
                                      jobs::v1::JOB_STATE_DISPUTED, jobs::v1::JOB_STATE_SETTLED,
                                      jobs::v1::JOB_STATE_SLASHED,  jobs::v1::JOB_STATE_EXPIRED};

template <typename Req>
void Sign(Req& req, int signer, std::string_view method, ByteView body) {
  if (signer == 0) return;
  static const int kKeys[] = {3, 4, 5, 6};  // buyer, verifier, bonded auditor, stranger
  Hash256 id = kJobId;
  if (req.job_id().size() == 32) std::copy(req.job_id().begin(), req.job_id().end(), id.begin());
  *req.mutable_auth() = client::SignProviderRequest(fuzz::FixedKey(kKeys[(signer - 1) % 4]), method,
                                                    TheRig().self, id, body, client::NowUnixMs());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceProtobufLogs();
  TheRig();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  Rig& rig = TheRig();
  const int what = data[0] % 6, signer = data[2] % 5;
  const jobs::v1::Job job = rig.JobIn(kStates[data[1] % 8]);
  rig.chain.SetJob(job);
  const uint8_t* msg = data + 3;
  const int n = static_cast<int>(size - 3);
  const ByteView blob(msg, size - 3);
  grpc::ServerContext ctx;
  switch (what) {
    case 0: {
      pv::GetOpeningRequest req;
      if (!req.ParseFromArray(msg, n)) return 0;
      Sign(req, signer, "GetOpening", client::OpeningBody(req.segment()));
      pv::GetOpeningResponse resp;
      rig.service->GetOpening(&ctx, &req, &resp);
      break;
    }
    case 1: {
      pv::JobStatusRequest req;
      if (!req.ParseFromArray(msg, n)) return 0;
      Sign(req, signer, "JobStatus", {});
      pv::JobStatusResponse resp;
      rig.service->JobStatus(&ctx, &req, &resp);
      break;
    }
    case 2: {
      pv::InfoRequest req;
      if (!req.ParseFromArray(msg, n)) return 0;
      pv::InfoResponse resp;
      rig.service->Info(&ctx, &req, &resp);
      break;
    }
    case 3:
      (void)provider::CheckSpecInput(blob, job, workloads::DataCatalog::Default());
      break;
    case 4:
      (void)provider::CheckModelInput(blob, rig.spec, job);
      break;
    case 5:
      (void)provider::CheckImagesInput(blob, rig.spec);
      break;
  }
  return 0;
}
