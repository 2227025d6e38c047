// Fetching openings over real loopback gRPC from a fake provider service that serves a real
// small training job's openings: signed requests, retries while the provider is down, refusals,
// withheld and garbage answers, and an endpoint where nothing listens.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <mutex>
#include <set>

#include "fixtures.h"
#include "probity/client/provider_client.h"
#include "probity/primitives/hex.h"
#include "probity/provider/v1/provider.grpc.pb.h"
#include "probity/verifierd/verifierd.h"

using namespace probity;
using namespace probity::verifierd;

namespace {

SecretKey Key(uint8_t i) {
  Bytes b(32, 0);
  b[31] = i;
  return SecretKey::FromBytes(b).value();
}

Hash256 JobId() {
  Hash256 id{};
  id[5] = 0x77;
  return id;
}

// GetOpening as the provider daemon answers it: the signature must be by an allowed party,
// over this provider's key, this job and this segment, and fresh.
class FakeProvider final : public provider::v1::Provider::Service {
 public:
  FakeProvider(const workloads::JobRun* run, workloads::Backend* cpu, XOnlyPubKey provider)
      : run_(run), cpu_(cpu), provider_(provider) {}

  grpc::Status GetOpening(grpc::ServerContext*, const provider::v1::GetOpeningRequest* req,
                          provider::v1::GetOpeningResponse* resp) override {
    std::lock_guard lock(mu_);
    ++calls;
    if (down_for > 0) {
      --down_for;
      return {grpc::StatusCode::UNAVAILABLE, "restarting"};
    }
    if (req->job_id().size() != 32) return {grpc::StatusCode::INVALID_ARGUMENT, "job_id"};
    Hash256 job{};
    std::memcpy(job.data(), req->job_id().data(), 32);
    auto signer = client::VerifyProviderRequest(req->auth(), "GetOpening", provider_, job,
                                                client::OpeningBody(req->segment()),
                                                client::NowUnixMs(), 120'000);
    if (!signer.ok()) return {grpc::StatusCode::UNAUTHENTICATED, signer.status().message()};
    if (!allowed.count(*signer)) return {grpc::StatusCode::PERMISSION_DENIED, "not a party"};
    if (job != JobId()) return {grpc::StatusCode::NOT_FOUND, "no such job"};
    if (withheld.count(req->segment())) return {grpc::StatusCode::NOT_FOUND, "not served"};
    if (garbage.count(req->segment())) {
      resp->set_opening("PRBO\x01 not an opening");
      return grpc::Status::OK;
    }
    if (oversized.count(req->segment())) {
      resp->set_opening(std::string(workloads::kMaxOpeningBytes + 1, 'x'));
      return grpc::Status::OK;
    }
    auto o = run_->Open(req->segment(), *cpu_);
    if (!o.ok()) return {grpc::StatusCode::OUT_OF_RANGE, o.status().message()};
    Bytes wire = workloads::EncodeOpening(*o);
    resp->set_opening(std::string(wire.begin(), wire.end()));
    return grpc::Status::OK;
  }

  std::set<XOnlyPubKey> allowed;
  std::set<uint64_t> withheld, garbage, oversized;
  int down_for = 0;
  int calls = 0;

 private:
  std::mutex mu_;
  const workloads::JobRun* run_;
  workloads::Backend* cpu_;
  XOnlyPubKey provider_;
};

struct Fixture {
  std::unique_ptr<workloads::Backend> cpu = test_data::Cpu(1);
  std::unique_ptr<workloads::Backend> serve_cpu = test_data::Cpu(1);
  std::unique_ptr<workloads::JobRun> run;
  SecretKey provider_key = Key(1);
  SecretKey verifier_key = Key(2);
  std::unique_ptr<FakeProvider> service;
  std::unique_ptr<grpc::Server> server;
  std::string endpoint;

  Fixture() {
    auto r = workloads::RunJob(test_data::SmallTrainSpec("mlp", "sgd"),
                               {.catalog = &test_data::FixtureCatalog()}, *cpu);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    run = std::move(r).value();
    service = std::make_unique<FakeProvider>(run.get(), serve_cpu.get(), provider_key.PublicKey());
    service->allowed.insert(verifier_key.PublicKey());
    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(service.get());
    server = b.BuildAndStart();
    REQUIRE(server);
    REQUIRE(port > 0);
    endpoint = "127.0.0.1:" + std::to_string(port);
  }
  ~Fixture() { server->Shutdown(); }

  JobCheck Check(const SecretKey& key, std::vector<uint64_t> segments,
                 std::chrono::milliseconds max_wait = std::chrono::milliseconds(300),
                 const std::string& where = "") {
    client::ProviderClient client(where.empty() ? endpoint : where, provider_key.PublicKey());
    ProviderOpenings openings(&client, &key, JobId());
    FetchPolicy p;
    p.initial_backoff = std::chrono::milliseconds(5);
    p.max_backoff = std::chrono::milliseconds(20);
    p.max_wait = max_wait;
    return CheckSegments(JobId(), run->commitment(), segments, openings, p,
                         {cpu.get(), &test_data::FixtureCatalog(), {}});
  }
};

}  // namespace

TEST_CASE("openings fetched over gRPC with a signed request re-execute to the trace") {
  Fixture f;
  const uint64_t n = f.run->commitment().segment_count;
  JobCheck check = f.Check(f.verifier_key, {0, n - 1, 2});
  REQUIRE(check.segments.size() == 3);
  for (const auto& s : check.segments) {
    CAPTURE(s.index);
    CHECK(s.verdict == Verdict::kOk);
    CHECK(s.recomputed == f.run->records()[s.index].output_hash);
    CHECK(s.fetch_attempts == 1);
  }
  CHECK(f.service->calls == 3);
}

TEST_CASE("a provider that is down for a while is retried until it answers") {
  Fixture f;
  f.service->down_for = 3;
  JobCheck check = f.Check(f.verifier_key, {1, 3}, std::chrono::seconds(10));
  // In rounds: 1 and 3 refused; 1 refused, 3 served; 1 served.
  CHECK(check.segments[0].verdict == Verdict::kOk);
  CHECK(check.segments[0].fetch_attempts == 3);
  CHECK(check.segments[1].verdict == Verdict::kOk);
  CHECK(check.segments[1].fetch_attempts == 2);
  CHECK(f.service->calls == 5);
}

TEST_CASE("refused, withheld, garbage and unreachable: verdicts with the provider's reason") {
  Fixture f;
  f.service->withheld.insert(2);
  f.service->garbage.insert(4);
  f.service->oversized.insert(6);
  JobCheck check = f.Check(f.verifier_key, {2, 4, 5, 6});
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].detail.find("not served") != std::string::npos);
  CHECK(check.segments[0].fetch_attempts >= 2);
  CHECK(check.segments[1].verdict == Verdict::kMalformed);
  CHECK(check.segments[2].verdict == Verdict::kOk);
  CHECK(check.segments[3].verdict == Verdict::kMalformed);
  CHECK(check.segments[3].detail.find("exceeds the limit") != std::string::npos);

  // A key that is not one of the job's parties gets nothing.
  SecretKey stranger = Key(9);
  check = f.Check(stranger, {1});
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].detail.find("not a party") != std::string::npos);

  // Nothing listens there.
  f.server->Shutdown();
  check = f.Check(f.verifier_key, {1}, std::chrono::milliseconds(100), f.endpoint);
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].fetch_attempts >= 1);
}

TEST_CASE("a stop request ends the retrying at once") {
  Fixture f;
  f.service->withheld.insert(3);
  client::ProviderClient client(f.endpoint, f.provider_key.PublicKey());
  ProviderOpenings openings(&client, &f.verifier_key, JobId());
  std::stop_source stop;
  FetchPolicy p;
  p.initial_backoff = std::chrono::milliseconds(50);
  p.max_wait = std::chrono::seconds(60);
  p.stop = stop.get_token();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop.request_stop();
  });
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t three[] = {3};
  JobCheck check = CheckSegments(JobId(), f.run->commitment(), three, openings, p,
                                 {f.cpu.get(), &test_data::FixtureCatalog(), {}});
  stopper.join();
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
