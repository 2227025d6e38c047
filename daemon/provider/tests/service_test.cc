// The provider service over a real gRPC server on 127.0.0.1, with the job manager, journal and
// blob store behind it and a fake chain: every kind of bad request is refused and changes
// nothing; a job goes from its uploaded spec to one commit; results and openings reach exactly
// the parties the chain names; restarts in every journal state never commit twice; disputes
// are answered on chain by themselves.
#include "service.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "blob_store.h"
#include "data_directory.h"
#include "fake_chain.h"
#include "job_manager.h"
#include "journal.h"
#include "metrics.h"
#include "probity/client/provider_client.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"
#include "server.h"
#include "temp_dir.h"

namespace probity::provider {
namespace {

namespace pv = provider::v1;
using testing::FakeChain;
using testing::TempDir;
using workloads::JobSpec;

SecretKey NewKey() { return SecretKey::Generate().value(); }

workloads::DataCatalog& Catalog() {
  static workloads::DataCatalog* c = [] {
    auto* catalog = new workloads::DataCatalog("/nonexistent");
    REQUIRE(AddDataDirectory(std::string(PROBITY_TEST_DATA_DIR) + "/workloads", *catalog).ok());
    return catalog;
  }();
  return *c;
}

Hash256 Train512() {
  auto d = workloads::LoadIdxDataset(
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist512-train-images-idx3-ubyte",
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist512-train-labels-idx1-ubyte");
  REQUIRE(d.ok());
  return d->id;
}

// 16 steps of a small MLP, 4 per segment: 4 segments.
JobSpec SmallSpec(uint64_t seed = 1) {
  auto spec = workloads::ParseJobSpec(
      "kind = \"train-classifier\"\ndataset = \"" + ToHex(Train512()) +
      "\"\nexamples = 512\narchitecture = \"mlp\"\nhidden = [16]\noptimizer = \"adam\"\n"
      "learning_rate = 0.001\nlearning_rate_decay = 1\nbeta1 = 0.9\nbeta2 = 0.999\n"
      "epsilon = 1e-8\nbatch_size = 32\nepochs = 1\nseed = " +
      std::to_string(seed) + "\nsteps_per_segment = 4\naugment = \"none\"\n");
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  return *spec;
}

template <typename Pred>
bool WaitFor(Pred pred, int ms = 30000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class Rig {
 public:
  Rig() : provider_key(NewKey()), buyer(NewKey()), stranger(NewKey()), auditor(NewKey()) {
    self = provider_key.PublicKey();
    staking::v1::Stake verifier_stake;
    verifier_stake.set_verifier(true);
    verifier_stake.set_bonded(500000);
    chain.PutStake(auditor.PublicKey(), verifier_stake);
    Start();
  }
  ~Rig() { Stop(); }

  void Start(bool withhold = false) {
    journal = Journal::Open(dir.path() + "/journal").value();
    blobs = BlobStore::Open(dir.path() + "/blobs", kMaxBlob).value();
    JobManagerOptions o;
    o.self = self;
    o.catalog = &Catalog();
    o.checkpoint_every = 2;
    o.tick = std::chrono::milliseconds(50);
    o.retry = std::chrono::milliseconds(200);
    o.withhold_openings = withhold;
    jobs = std::make_unique<JobManager>(o, journal.get(), blobs.get(), &chain, &metrics);
    REQUIRE(jobs->Start().ok());
    ServiceDeps deps;
    deps.self = self;
    deps.jobs = jobs.get();
    deps.blobs = blobs.get();
    deps.chain = &chain;
    deps.catalog = &Catalog();
    deps.metrics = &metrics;
    service = std::make_unique<ProviderService>(std::move(deps));
    server = GrpcServer::Start(service.get(), {}).value();
    stub = pv::Provider::NewStub(
        grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials()));
  }
  void Stop() {
    stub.reset();
    if (server) server->Shutdown();
    if (jobs) jobs->Stop();
    server.reset();
    service.reset();
    jobs.reset();
    blobs.reset();
    journal.reset();
  }
  void Restart(bool withhold = false) {
    Stop();
    Start(withhold);
  }

  // An assigned job of `spec` for `buyer` on chain.
  Hash256 Assign(const JobSpec& spec, std::optional<uint64_t> units = std::nullopt) {
    Hash256 id = Sha256(AsBytes("job " + std::to_string(next_job++)));
    jobs::v1::Job j;
    j.set_id(FieldOf(id));
    j.set_buyer(FieldOf(buyer.PublicKey()));
    j.set_provider(FieldOf(self));
    j.set_kind(static_cast<market::v1::JobKind>(spec.kind));
    j.set_input_hash(FieldOf(workloads::JobInputHash(spec)));
    j.set_units(units ? *units : *workloads::JobUnits(spec));
    j.set_price_per_unit(3);
    j.set_state(jobs::v1::JOB_STATE_ASSIGNED);
    j.set_attempt(1);
    j.set_deadline(100000);
    chain.PutJob(j);
    return id;
  }

  pv::UploadBlobRequest Header(const SecretKey& who, const Hash256& job, pv::BlobRole role,
                               ByteView blob, uint64_t now_ms = client::NowUnixMs()) {
    pv::UploadBlobRequest r;
    pv::UploadHeader* h = r.mutable_header();
    const Hash256 sha = Sha256(blob);
    h->set_job_id(FieldOf(job));
    h->set_role(role);
    h->set_sha256(FieldOf(sha));
    h->set_size(blob.size());
    *h->mutable_auth() = client::SignProviderRequest(
        who, "UploadBlob", self, job, client::UploadBody(role, sha, blob.size()), now_ms);
    return r;
  }
  static std::vector<pv::UploadBlobRequest> Chunks(ByteView blob, size_t chunk = 700) {
    std::vector<pv::UploadBlobRequest> out;
    for (size_t off = 0; off < blob.size(); off += chunk) {
      pv::UploadBlobRequest r;
      const size_t n = std::min(chunk, blob.size() - off);
      r.set_chunk(std::string(reinterpret_cast<const char*>(blob.data()) + off, n));
      out.push_back(r);
    }
    return out;
  }
  grpc::Status Send(const std::vector<pv::UploadBlobRequest>& msgs,
                    pv::UploadBlobResponse* resp = nullptr) {
    pv::UploadBlobResponse ignored;
    grpc::ClientContext ctx;
    auto writer = stub->UploadBlob(&ctx, resp ? resp : &ignored);
    for (const auto& m : msgs) {
      if (!writer->Write(m)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }
  grpc::Status Upload(const SecretKey& who, const Hash256& job, pv::BlobRole role, ByteView blob,
                      pv::UploadBlobResponse* resp = nullptr) {
    std::vector<pv::UploadBlobRequest> msgs = {Header(who, job, role, blob)};
    for (auto& c : Chunks(blob)) msgs.push_back(c);
    return Send(msgs, resp);
  }

  grpc::Status Download(const SecretKey& who, const Hash256& job, Bytes* out) {
    pv::DownloadResultRequest req;
    req.set_job_id(FieldOf(job));
    *req.mutable_auth() =
        client::SignProviderRequest(who, "DownloadResult", self, job, {}, client::NowUnixMs());
    grpc::ClientContext ctx;
    auto reader = stub->DownloadResult(&ctx, req);
    pv::BlobChunk chunk;
    out->clear();
    while (reader->Read(&chunk)) out->insert(out->end(), chunk.data().begin(), chunk.data().end());
    return reader->Finish();
  }
  grpc::Status Opening(const SecretKey& who, const Hash256& job, uint64_t segment, Bytes* out) {
    pv::GetOpeningRequest req;
    req.set_job_id(FieldOf(job));
    req.set_segment(segment);
    *req.mutable_auth() = client::SignProviderRequest(
        who, "GetOpening", self, job, client::OpeningBody(segment), client::NowUnixMs());
    pv::GetOpeningResponse resp;
    grpc::ClientContext ctx;
    grpc::Status s = stub->GetOpening(&ctx, req, &resp);
    out->assign(resp.opening().begin(), resp.opening().end());
    return s;
  }
  grpc::Status Status(const SecretKey& who, const Hash256& job, pv::JobStatusResponse* resp) {
    pv::JobStatusRequest req;
    req.set_job_id(FieldOf(job));
    *req.mutable_auth() =
        client::SignProviderRequest(who, "JobStatus", self, job, {}, client::NowUnixMs());
    grpc::ClientContext ctx;
    return stub->JobStatus(&ctx, req, resp);
  }

  workloads::JobCommitment Commitment(const Hash256& job, const JobSpec& spec) {
    auto j = chain.GetJob(job).value();
    workloads::JobCommitment c;
    c.job_input_hash = workloads::JobInputHash(spec);
    c.output_hash = *Hash256Field(j.output_hash(), "o");
    c.trace_root = *Hash256Field(j.trace_root(), "t");
    c.segment_count = j.segment_count();
    return c;
  }

  void Event(const std::string& type, const Hash256& job,
             std::vector<std::pair<std::string, std::string>> attrs = {}) {
    node::v1::EventRecord r;
    r.mutable_event()->set_type(type);
    attrs.push_back({"job_id", ToHex(job)});
    attrs.push_back({"provider", EncodeAddress(self)});
    for (const auto& [k, v] : attrs) {
      auto* a = r.mutable_event()->add_attributes();
      a->set_key(k);
      a->set_value(v);
    }
    jobs->OnEvent(r);
  }

  static constexpr uint64_t kMaxBlob = 64 << 10;
  TempDir dir;
  FakeChain chain;
  observe::Registry registry;
  ProviderMetrics metrics{registry};
  SecretKey provider_key, buyer, stranger, auditor;
  XOnlyPubKey self{};
  std::unique_ptr<Journal> journal;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<JobManager> jobs;
  std::unique_ptr<ProviderService> service;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<pv::Provider::Stub> stub;
  int next_job = 1;
};

size_t BlobFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST_CASE("bad uploads of every kind are refused with their reason and change nothing") {
  Rig rig;
  const JobSpec spec = SmallSpec();
  const Hash256 job = rig.Assign(spec);
  const Bytes blob = workloads::EncodeJobSpec(spec);
  auto code = [](const grpc::Status& s) { return s.error_code(); };

  SUBCASE("a wrong signature") {
    auto h = rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob);
    std::string sig = h.header().auth().signature();
    sig[3] ^= 1;
    h.mutable_header()->mutable_auth()->set_signature(sig);
    CHECK(code(rig.Send({h})) == grpc::StatusCode::UNAUTHENTICATED);
  }
  SUBCASE("a signature over another body (the size)") {
    auto h = rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob);
    h.mutable_header()->set_size(blob.size() + 1);
    CHECK(code(rig.Send({h})) == grpc::StatusCode::UNAUTHENTICATED);
  }
  SUBCASE("an expired timestamp") {
    auto h = rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob, client::NowUnixMs() - 600000);
    CHECK(code(rig.Send({h})) == grpc::StatusCode::UNAUTHENTICATED);
  }
  SUBCASE("someone who is not the buyer") {
    CHECK(code(rig.Upload(rig.stranger, job, pv::BLOB_ROLE_SPEC, blob)) ==
          grpc::StatusCode::PERMISSION_DENIED);
    CHECK(code(rig.Upload(rig.provider_key, job, pv::BLOB_ROLE_SPEC, blob)) ==
          grpc::StatusCode::PERMISSION_DENIED);
  }
  SUBCASE("a job the chain does not have") {
    const Hash256 ghost = Sha256(AsBytes("ghost"));
    CHECK(code(rig.Upload(rig.buyer, ghost, pv::BLOB_ROLE_SPEC, blob)) ==
          grpc::StatusCode::NOT_FOUND);
  }
  SUBCASE("bytes that do not hash to the announced SHA-256") {
    auto msgs =
        std::vector<pv::UploadBlobRequest>{rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob)};
    Bytes other = blob;
    other[10] ^= 1;
    for (auto& c : Rig::Chunks(other)) msgs.push_back(c);
    CHECK(code(rig.Send(msgs)) == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SUBCASE("a size above the limit, announced or streamed") {
    const Bytes big(Rig::kMaxBlob + 1, 7);
    CHECK(code(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, big)) ==
          grpc::StatusCode::RESOURCE_EXHAUSTED);
    auto msgs =
        std::vector<pv::UploadBlobRequest>{rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob)};
    for (auto& c : Rig::Chunks(blob)) msgs.push_back(c);
    msgs.push_back(Rig::Chunks(AsBytes("more"))[0]);  // beyond the announced size
    CHECK(code(rig.Send(msgs)) == grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  SUBCASE("a truncated stream") {
    auto msgs =
        std::vector<pv::UploadBlobRequest>{rig.Header(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob)};
    auto chunks = Rig::Chunks(blob, 16);
    chunks.pop_back();
    for (auto& c : chunks) msgs.push_back(c);
    CHECK(code(rig.Send(msgs)) == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SUBCASE("a spec for another job, and inputs a training job does not take") {
    const Bytes other = workloads::EncodeJobSpec(SmallSpec(2));
    CHECK(code(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, other)) ==
          grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(code(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_MODEL, blob)) ==
          grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(code(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_UNSPECIFIED, blob)) ==
          grpc::StatusCode::INVALID_ARGUMENT);
  }
  SUBCASE("a stream that does not start with its header") {
    CHECK(code(rig.Send(Rig::Chunks(blob))) == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(code(rig.Send({})) == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SUBCASE("a job that is no longer assigned") {
    auto j = rig.chain.GetJob(job).value();
    j.set_state(jobs::v1::JOB_STATE_EXPIRED);
    rig.chain.PutJob(j);
    CHECK(code(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob)) ==
          grpc::StatusCode::FAILED_PRECONDITION);
  }
  // Nothing kept, nothing started.
  CHECK(BlobFiles(rig.dir.path() + "/blobs") == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(rig.chain.commit_sends() == 0);
  auto tracked = rig.jobs->Find(job);
  if (tracked) {
    CHECK(tracked->spec_sha256().empty());
    CHECK(tracked->state() == pv::JOURNAL_STATE_ASSIGNED);
  }
}

TEST_CASE(
    "a job runs from its spec to one commit, and its result and openings reach the right parties") {
  Rig rig;
  const JobSpec spec = SmallSpec();
  const Hash256 job = rig.Assign(spec);
  const Bytes blob = workloads::EncodeJobSpec(spec);

  pv::JobStatusResponse st;
  REQUIRE(rig.Status(rig.buyer, job, &st).ok());
  CHECK(st.phase() == "waiting-inputs");
  REQUIRE(st.missing_size() == 1);
  CHECK(st.missing(0) == pv::BLOB_ROLE_SPEC);

  pv::UploadBlobResponse resp;
  grpc::Status up = rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob, &resp);
  REQUIRE_MESSAGE(up.ok(), up.error_message());
  CHECK(resp.job_ready());
  CHECK(!resp.already_present());
  CHECK(resp.size() == blob.size());
  REQUIRE(WaitFor([&] { return rig.chain.commits_applied() == 1; }));
  REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));

  // Uploading the same spec again is idempotent.
  pv::UploadBlobResponse again;
  REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob, &again).ok());
  CHECK(again.already_present());
  CHECK(again.job_ready());

  REQUIRE(rig.Status(rig.buyer, job, &st).ok());
  CHECK(st.phase() == "committed");
  CHECK(st.segments_done() == 4);
  CHECK(st.segment_count() == 4);
  CHECK(rig.Status(rig.stranger, job, &st).error_code() == grpc::StatusCode::PERMISSION_DENIED);

  // The result: the buyer's only, and exactly the committed model.
  const workloads::JobCommitment c = rig.Commitment(job, spec);
  Bytes result;
  grpc::Status down = rig.Download(rig.buyer, job, &result);
  REQUIRE_MESSAGE(down.ok(), down.error_message());
  auto verified = workloads::VerifyJobResult(spec, c.output_hash, result);
  CHECK_MESSAGE(verified.ok(), verified.status().ToString());
  Bytes none;
  CHECK(rig.Download(rig.stranger, job, &none).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(rig.Download(rig.auditor, job, &none).error_code() == grpc::StatusCode::PERMISSION_DENIED);

  // Openings: to the buyer and a bonded verifier; each checks out by re-execution.
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
  for (uint64_t seg = 0; seg < 4; ++seg) {
    CAPTURE(seg);
    Bytes bytes;
    grpc::Status s = rig.Opening(seg % 2 ? rig.auditor : rig.buyer, job, seg, &bytes);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    auto opening = workloads::DecodeOpening(bytes);
    REQUIRE(opening.ok());
    CHECK(opening->record.index == seg);
    Status check = workloads::CheckSegment(*opening, c, *cpu, Catalog());
    CHECK_MESSAGE(check.ok(), check.ToString());
  }
  Bytes bytes;
  CHECK(rig.Opening(rig.buyer, job, 4, &bytes).error_code() == grpc::StatusCode::OUT_OF_RANGE);
  CHECK(rig.Opening(rig.stranger, job, 0, &bytes).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  // Info needs no signature.
  pv::InfoResponse info;
  grpc::ClientContext ctx;
  REQUIRE(rig.stub->Info(&ctx, pv::InfoRequest(), &info).ok());
  CHECK(info.provider() == FieldOf(rig.self));
  CHECK(info.max_blob_bytes() == Rig::kMaxBlob);
  CHECK(rig.chain.commits_applied() == 1);
  CHECK(rig.metrics.commits_sent.value() == 1);
  CHECK(rig.metrics.segments_computed.value() == 4);

  // Settlement is recorded with its payment.
  auto settled = rig.chain.GetJob(job).value();
  settled.set_state(jobs::v1::JOB_STATE_SETTLED);
  rig.chain.PutJob(settled);
  rig.Event("jobs.settled", job, {{"provider_paid", "1234"}});
  CHECK(rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_SETTLED);
  CHECK(rig.jobs->Find(job)->earned() == 1234);
  CHECK(rig.metrics.payments_earned.value() == 1234);
}

TEST_CASE("an inference job takes its spec, then its model and images, and commits its labels") {
  Rig rig;
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
  auto trained = workloads::RunJob(SmallSpec(), {.catalog = &Catalog()}, *cpu);
  REQUIRE(trained.ok());
  const workloads::TensorMap& model = (*trained)->model();
  auto test = workloads::LoadIdxDataset(
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist256-test-images-idx3-ubyte",
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist256-test-labels-idx1-ubyte");
  REQUIRE(test.ok());
  workloads::Tensor images = *workloads::Tensor::Zeros(workloads::DType::kU8, {40, 28, 28});
  std::copy_n(test->images.begin(), images.byte_size(), images.mutable_bytes().data());
  JobSpec spec;
  spec.kind = workloads::JobKind::kInferClassifier;
  spec.infer =
      workloads::InferSpec{.model = workloads::ModelId(model), .count = 40, .slice_size = 16};
  spec.infer.images = *workloads::ImagesRoot(images, 16);
  const Hash256 job = rig.Assign(spec, *workloads::JobUnits(spec, &model));
  const Bytes model_file = *workloads::EncodeSafetensors(model);
  const Bytes images_file = workloads::EncodeTensor(images);

  CHECK(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_MODEL, model_file).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);  // the spec comes first
  pv::UploadBlobResponse resp;
  REQUIRE(
      rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec), &resp).ok());
  CHECK(!resp.job_ready());
  pv::JobStatusResponse st;
  REQUIRE(rig.Status(rig.buyer, job, &st).ok());
  CHECK(st.missing_size() == 2);
  workloads::Tensor other = images;
  other.mutable_bytes()[100] ^= 0x10;
  CHECK(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_IMAGES, workloads::EncodeTensor(other))
            .error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_MODEL, model_file, &resp).ok());
  CHECK(!resp.job_ready());
  REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_IMAGES, images_file, &resp).ok());
  CHECK(resp.job_ready());
  REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));
  Bytes result;
  REQUIRE(rig.Download(rig.buyer, job, &result).ok());
  auto verified = workloads::VerifyJobResult(spec, rig.Commitment(job, spec).output_hash, result);
  REQUIRE_MESSAGE(verified.ok(), verified.status().ToString());
  CHECK(verified->labels.shape() == workloads::Shape{40});
  Bytes opening;
  REQUIRE(rig.Opening(rig.buyer, job, 2, &opening).ok());
  CHECK(workloads::CheckSegment(*workloads::DecodeOpening(opening), rig.Commitment(job, spec), *cpu)
            .ok());
}

TEST_CASE("restarts never commit twice: after the commit, with its answer lost, or itself lost") {
  Rig rig;
  const JobSpec spec = SmallSpec();
  const Bytes blob = workloads::EncodeJobSpec(spec);

  SUBCASE("committed, then restarted: openings are rebuilt and agree with the commitment") {
    const Hash256 job = rig.Assign(spec);
    REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob).ok());
    REQUIRE(WaitFor([&] { return rig.chain.commits_applied() == 1; }));
    REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));
    rig.Restart();
    Bytes bytes;
    grpc::Status s = rig.Opening(rig.buyer, job, 3, &bytes);
    REQUIRE_MESSAGE(s.ok(), s.error_message());
    auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
    CHECK(workloads::CheckSegment(*workloads::DecodeOpening(bytes), rig.Commitment(job, spec), *cpu,
                                  Catalog())
              .ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(rig.chain.commit_sends() == 1);
  }
  SUBCASE("the commit landed but its answer was lost: the chain is asked, nothing resent") {
    rig.chain.LoseNextCommitAnswer();
    const Hash256 job = rig.Assign(spec);
    REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob).ok());
    REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));
    CHECK(rig.chain.commit_sends() == 1);
    CHECK(rig.chain.commits_applied() == 1);
  }
  SUBCASE("the commit was lost: sent again once the chain shows it absent") {
    rig.chain.DropNextCommit();
    const Hash256 job = rig.Assign(spec);
    REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob).ok());
    REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));
    CHECK(rig.chain.commit_sends() == 2);
    CHECK(rig.chain.commits_applied() == 1);
  }
  SUBCASE("a crash in commit-sent while the chain was down: a restart commits exactly once") {
    const Hash256 job = rig.Assign(spec);
    rig.chain.DropNextCommit();
    REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, blob).ok());
    REQUIRE(WaitFor([&] { return rig.chain.commit_sends() == 1; }));
    rig.chain.SetDown(true);
    rig.Restart();
    CHECK(rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMIT_SENT);
    rig.chain.SetDown(false);
    // It waits a few blocks for a commit that may still be in flight, then sends.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    CHECK(rig.chain.commit_sends() == 1);
    REQUIRE(WaitFor([&] {
      rig.chain.SetHeight(*rig.chain.Height() + 1);  // blocks go by
      return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED;
    }));
    CHECK(rig.chain.commits_applied() == 1);
  }
}

TEST_CASE("a dispute is answered on chain with the disputed segment's opening") {
  Rig rig;
  const JobSpec spec = SmallSpec();
  const Hash256 job = rig.Assign(spec);
  REQUIRE(rig.Upload(rig.buyer, job, pv::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec)).ok());
  REQUIRE(WaitFor([&] { return rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_COMMITTED; }));
  auto j = rig.chain.GetJob(job).value();
  j.set_state(jobs::v1::JOB_STATE_DISPUTED);
  j.mutable_dispute()->set_segment(2);
  j.mutable_dispute()->set_outcome(jobs::v1::DISPUTE_OUTCOME_PENDING);
  j.mutable_dispute()->set_opening_deadline(100000);
  rig.chain.PutJob(j);

  SUBCASE("honest: posted by itself") {
    rig.Event("jobs.disputed", job, {{"segment", "2"}});
    REQUIRE(WaitFor([&] { return rig.chain.openings().size() == 1; }));
    const auto posted = rig.chain.openings()[0];
    CHECK(posted.job_id() == FieldOf(job));
    auto opening = workloads::DecodeOpening(AsBytes(posted.opening()));
    REQUIRE(opening.ok());
    CHECK(opening->record.index == 2);
    auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
    CHECK(workloads::CheckSegment(*opening, rig.Commitment(job, spec), *cpu, Catalog()).ok());
    CHECK(WaitFor([&] { return rig.jobs->Find(job)->openings_posted() == 1; }));
  }
  SUBCASE("found disputed at start after a restart") {
    rig.Restart();
    REQUIRE(WaitFor([&] { return rig.chain.openings().size() == 1; }));
  }
  SUBCASE("withholding (test fault): nothing posted, nothing served") {
    rig.Restart(/*withhold=*/true);
    rig.Event("jobs.disputed", job, {{"segment", "2"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(rig.chain.openings().empty());
    Bytes bytes;
    CHECK(rig.Opening(rig.buyer, job, 2, &bytes).error_code() == grpc::StatusCode::UNAVAILABLE);
  }
}

TEST_CASE("an expired job is recorded and never committed") {
  Rig rig;
  const JobSpec spec = SmallSpec();
  const Hash256 job = rig.Assign(spec);
  pv::JobStatusResponse st;
  REQUIRE(rig.Status(rig.buyer, job, &st).ok());  // tracked now
  auto j = rig.chain.GetJob(job).value();
  j.set_state(jobs::v1::JOB_STATE_EXPIRED);
  rig.chain.PutJob(j);
  rig.Event("jobs.expired", job);
  CHECK(rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_EXPIRED);
  REQUIRE(rig.Status(rig.buyer, job, &st).ok());
  CHECK(st.phase() == "failed");
  CHECK(!st.error().empty());
  // Events about other providers' jobs are ignored.
  node::v1::EventRecord r;
  r.mutable_event()->set_type("jobs.settled");
  auto* a = r.mutable_event()->add_attributes();
  a->set_key("job_id");
  a->set_value(ToHex(job));
  rig.jobs->OnEvent(r);
  CHECK(rig.jobs->Find(job)->state() == pv::JOURNAL_STATE_EXPIRED);
  CHECK(rig.chain.commit_sends() == 0);
}

}  // namespace
}  // namespace probity::provider

namespace probity::provider {
namespace {

TEST_CASE(
    "TLS: with a certificate the service speaks only TLS, and bad configurations are refused") {
  Rig rig;
  const std::string dir = std::string(PROBITY_TEST_DATA_DIR) + "/provider";
  ServiceDeps deps;
  deps.self = rig.self;
  deps.jobs = rig.jobs.get();
  deps.blobs = rig.blobs.get();
  deps.chain = &rig.chain;
  deps.catalog = &Catalog();
  deps.metrics = &rig.metrics;
  ProviderService service(std::move(deps));
  auto server = GrpcServer::Start(
      &service, {.tls_cert_file = dir + "/tls-cert.pem", .tls_key_file = dir + "/tls-key.pem"});
  REQUIRE_MESSAGE(server.ok(), server.status().ToString());
  CHECK((*server)->tls());
  client::ProviderClient tls((*server)->address(), rig.self,
                             {.use_tls = true, .ca_file = dir + "/tls-cert.pem"});
  auto info = tls.Info();
  REQUIRE_MESSAGE(info.ok(), info.status().ToString());
  CHECK(info->provider() == FieldOf(rig.self));
  client::ProviderClient plain((*server)->address(), rig.self);
  CHECK(!plain.Info().ok());

  ProviderService other(ServiceDeps{.self = rig.self, .blobs = rig.blobs.get()});
  CHECK(GrpcServer::Start(&other, {.tls_cert_file = dir + "/tls-cert.pem"}).status().code() ==
        Code::kInvalidArgument);
  CHECK(GrpcServer::Start(
            &other, {.tls_cert_file = dir + "/README.md", .tls_key_file = dir + "/tls-key.pem"})
            .status()
            .code() == Code::kInvalidArgument);
  CHECK(GrpcServer::Start(
            &other, {.tls_cert_file = dir + "/absent.pem", .tls_key_file = dir + "/tls-key.pem"})
            .status()
            .code() == Code::kNotFound);
}

}  // namespace
}  // namespace probity::provider
