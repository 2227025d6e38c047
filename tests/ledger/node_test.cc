// A node in process: transactions through the gRPC service, verified answers, restart at the
// last committed block, event streams with filters and resumption, and a follower.
#include "probity/ledger/node.h"

#include <doctest/doctest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <thread>

#include "node_harness.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/node_server.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::ledger;
using probity::contracts::Bank;
using probity::ledger::testing::TestKey;

namespace {

constexpr int kAccounts = 6;
constexpr uint64_t kFunds = 1000000;

Genesis ChainGenesis() {
  std::string bank = "{\"balances\":[";
  for (int i = 1; i <= kAccounts; ++i) {
    bank += std::string(i > 1 ? "," : "") + "{\"address\":\"" +
            EncodeAddress(TestKey(static_cast<uint64_t>(i)).PublicKey()) + "\",\"amount\":\"" +
            std::to_string(kFunds) + "\"}";
  }
  bank += "]}";
  return testing::TestGenesis({{"bank", bank}});
}

Bytes Send(int from, int to, uint64_t amount, uint64_t nonce) {
  return testing::Transfer(from, TestKey(static_cast<uint64_t>(to)).PublicKey(), amount, nonce, 1,
                           "test-chain");
}

struct Running {
  std::unique_ptr<Node> node;
  std::unique_ptr<NodeServer> server;
  std::unique_ptr<NodeClient> client;

  static Running Start(const std::string& dir, const std::string& follow = "",
                       uint64_t keep_recent_heights = 0, uint32_t block_interval_ms = 10,
                       uint32_t max_streams = 1024, uint32_t max_streams_per_client = 64) {
    NodeOptions o;
    o.config.max_streams = max_streams;
    o.config.max_streams_per_client = max_streams_per_client;
    o.genesis = ChainGenesis();
    o.config.block_interval_ms = block_interval_ms;
    o.config.mempool.max_per_sender = 10000;
    o.config.keep_recent_heights = keep_recent_heights;
    o.follow = follow;
    if (follow.empty()) o.producer_key = std::make_shared<const SecretKey>(TestKey(0));
    Running r;
    auto n = Node::Open(dir, o, contracts::StandardModules());
    REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    r.node = std::move(*n);
    auto s = NodeServer::Start(r.node.get(), "127.0.0.1:0");
    REQUIRE(s.ok());
    r.server = std::move(*s);
    REQUIRE(r.node->Start().ok());
    r.client = std::make_unique<NodeClient>(r.server->address(),
                                            TrustAnchor{o.genesis.chain_id, o.genesis.proposer});
    return r;
  }
  void Stop() {
    server->Shutdown();
    node->Stop();
    client.reset();
    server.reset();
    node.reset();
  }
};

uint64_t VerifiedBalance(const NodeClient& c, int account) {
  auto v = c.QueryStore(Bank::BalanceKey(TestKey(static_cast<uint64_t>(account)).PublicKey()));
  REQUIRE_MESSAGE(v.ok(), v.status().ToString());
  return Bank::DecodeAmount(v->second).value();
}

}  // namespace

TEST_CASE("transfers commit through the service, with verified results, blocks and balances") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path());
  REQUIRE(r.node->WaitForHeight(1, std::chrono::seconds(5)));  // block 1 signs the genesis state
  CHECK(VerifiedBalance(*r.client, 1) == kFunds);

  std::vector<std::string> ids;
  for (uint64_t nonce = 1; nonce <= 3; ++nonce) {
    for (int a = 1; a <= 3; ++a) {
      auto resp = r.client->Submit(Send(a, a + 3, 100, nonce), true, std::chrono::seconds(10));
      REQUIRE_MESSAGE(resp.ok(), resp.status().ToString());
      CHECK(resp->code() == 0);
      CHECK(resp->committed());
      CHECK(resp->result().code() == 0);
      CHECK(resp->result().fee() == 1);
      ids.push_back(resp->tx_id());
    }
  }
  CHECK(VerifiedBalance(*r.client, 1) == kFunds - 3 * 101);
  CHECK(VerifiedBalance(*r.client, 4) == kFunds + 300);
  // The fee collector holds every fee: supply is unchanged.
  auto fees = r.client->QueryStore(Bank::BalanceKey(Bank::ModuleAccount(Bank::kFeeCollector)));
  REQUIRE(fees.ok());
  CHECK(Bank::DecodeAmount(fees->second).value() == 9);

  Hash256 id;
  std::memcpy(id.data(), ids[4].data(), 32);
  auto tx = r.client->GetTx(id);
  REQUIRE_MESSAGE(tx.ok(), tx.status().ToString());
  CHECK(tx->result().events(0).type() == "bank.transfer");
  auto block = r.client->GetBlock(tx->height());
  REQUIRE_MESSAGE(block.ok(), block.status().ToString());
  CHECK(block->results().tx_results_size() == block->block().txs_size());

  // A replay through the service is refused with a reason.
  auto replay = r.client->Submit(Send(1, 4, 100, 1), false, {});
  REQUIRE(replay.ok());
  CHECK(replay->code() == static_cast<uint32_t>(TxCode::kNonceUsed));
  CHECK(replay->log().find("already used") != std::string::npos);
  CHECK_FALSE(r.client->GetTx(Sha256("no such tx")).ok());
  r.Stop();
}

TEST_CASE("a restarted node continues at its last block with the same app hash") {
  testing::TempDir dir;
  Hash256 app_hash;
  uint64_t height;
  {
    Running r = Running::Start(dir.path());
    for (uint64_t n = 1; n <= 4; ++n) {
      auto resp = r.client->Submit(Send(1, 2, 5, n), true, std::chrono::seconds(10));
      REQUIRE(resp.ok());
      REQUIRE(resp->committed());
    }
    NodeStatus s = r.node->Describe();
    app_hash = s.app_hash;
    height = s.height;
    r.Stop();
  }
  Running r = Running::Start(dir.path());
  NodeStatus s = r.node->Describe();
  CHECK(s.height == height);
  CHECK(s.app_hash == app_hash);
  CHECK(r.node->app().Info().last_app_hash == app_hash);
  auto resp = r.client->Submit(Send(1, 2, 5, 5), true, std::chrono::seconds(10));
  REQUIRE(resp.ok());
  CHECK(resp->committed());
  CHECK(VerifiedBalance(*r.client, 2) == kFunds + 25);
  r.Stop();
}

TEST_CASE("StreamEvents filters by account and type and resumes after a cursor") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path());
  // Account 5 receives three transfers; account 6 one.
  for (uint64_t n = 1; n <= 3; ++n) {
    REQUIRE(r.client->Submit(Send(1, 5, 10 * n, n), true, std::chrono::seconds(10))->committed());
  }
  REQUIRE(r.client->Submit(Send(2, 6, 7, 1), true, std::chrono::seconds(10))->committed());
  auto stub = node::v1::Node::NewStub(
      grpc::CreateChannel(r.server->address(), grpc::InsecureChannelCredentials()));
  auto collect = [&](const node::v1::StreamEventsRequest& req, size_t n) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->StreamEvents(&ctx, req);
    std::vector<node::v1::EventRecord> got;
    node::v1::EventRecord rec;
    while (got.size() < n && reader->Read(&rec)) got.push_back(rec);
    ctx.TryCancel();
    reader->Finish();
    return got;
  };
  node::v1::StreamEventsRequest req;
  req.set_from_height(1);
  req.set_account(EncodeAddress(TestKey(5).PublicKey()));
  auto got = collect(req, 3);
  REQUIRE(got.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(got[i].event().type() == "bank.transfer");
    CHECK(got[i].event().attributes(2).value() == std::to_string(10 * (i + 1)));
    CHECK(got[i].tx_id().size() == 32);
  }
  // Resume after the first: the next two, nothing repeated.
  *req.mutable_resume_after() = got[0].cursor();
  auto resumed = collect(req, 2);
  REQUIRE(resumed.size() == 2);
  CHECK(resumed[0].cursor().height() == got[1].cursor().height());
  CHECK(resumed[1].event().attributes(2).value() == "30");
  // By type: all four transfers; an unknown type: nothing (the stream waits for more).
  node::v1::StreamEventsRequest by_type;
  by_type.set_from_height(1);
  by_type.add_types("bank.transfer");
  CHECK(collect(by_type, 4).size() == 4);
  // Live: an event committed after the stream opened arrives.
  node::v1::StreamEventsRequest live;
  live.set_account(EncodeAddress(TestKey(6).PublicKey()));  // from the next block on
  std::vector<node::v1::EventRecord> live_got;
  std::thread reader([&] { live_got = collect(live, 1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(r.client->Submit(Send(3, 6, 42, 1), true, std::chrono::seconds(10))->committed());
  reader.join();
  REQUIRE(live_got.size() == 1);
  CHECK(live_got[0].event().attributes(2).value() == "42");
  r.Stop();
}

TEST_CASE("an in-process follower replicates every block and refuses transactions") {
  testing::TempDir pdir, fdir;
  Running p = Running::Start(pdir.path());
  for (uint64_t n = 1; n <= 3; ++n) {
    REQUIRE(p.client->Submit(Send(1, 2, 1, n), true, std::chrono::seconds(10))->committed());
  }
  Running f = Running::Start(fdir.path(), p.server->address());
  uint64_t h = p.node->height();
  REQUIRE(f.node->WaitForHeight(h, std::chrono::seconds(10)));
  for (uint64_t i = 1; i <= h; ++i) {
    CHECK(*p.node->blocks().GetBlock(i).value() == *f.node->blocks().GetBlock(i).value());
  }
  CHECK(f.node->Describe().app_hash == p.node->Describe().app_hash);
  CHECK(f.node->Describe().mode == "follower");
  auto refused = f.client->Submit(Send(1, 2, 1, 4), false, {});
  REQUIRE(refused.ok());
  CHECK(refused->code() == static_cast<uint32_t>(TxCode::kNotAccepting));
  // It keeps up with new blocks, and serves verified reads.
  REQUIRE(p.client->Submit(Send(1, 2, 1, 4), true, std::chrono::seconds(10))->committed());
  REQUIRE(f.node->WaitForHeight(p.node->height(), std::chrono::seconds(10)));
  CHECK(VerifiedBalance(*f.client, 2) == kFunds + 4);
  f.Stop();
  p.Stop();
}

TEST_CASE("streams beyond max_streams are refused with RESOURCE_EXHAUSTED, and others go on") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path(), "", 0, 10, /*max_streams=*/3);
  REQUIRE(r.client->Submit(Send(1, 5, 10, 1), true, std::chrono::seconds(10))->committed());
  auto stub = node::v1::Node::NewStub(
      grpc::CreateChannel(r.server->address(), grpc::InsecureChannelCredentials()));
  node::v1::StreamEventsRequest req;
  req.set_from_height(1);
  struct Open {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<node::v1::EventRecord>> reader;
  };
  // Three streams, each shown to be served by its first event.
  std::vector<std::unique_ptr<Open>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Open>());
    open.back()->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    open.back()->reader = stub->StreamEvents(&open.back()->ctx, req);
    node::v1::EventRecord rec;
    REQUIRE(open.back()->reader->Read(&rec));
  }
  // A fourth (of either kind) is refused; unary calls still answer; the chain still commits.
  {
    grpc::ClientContext ctx;
    auto reader = stub->StreamEvents(&ctx, req);
    node::v1::EventRecord rec;
    CHECK_FALSE(reader->Read(&rec));
    grpc::Status st = reader->Finish();
    CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
    CHECK(st.error_message().find("max_streams = 3") != std::string::npos);
  }
  {
    grpc::ClientContext ctx;
    node::v1::StreamBlocksRequest blocks;
    auto reader = stub->StreamBlocks(&ctx, blocks);
    node::v1::GetBlockResponse rec;
    CHECK_FALSE(reader->Read(&rec));
    CHECK(reader->Finish().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  CHECK(r.client->Submit(Send(1, 5, 10, 2), true, std::chrono::seconds(10))->committed());
  // Closing one frees its place.
  open[0]->ctx.TryCancel();
  open[0]->reader->Finish();
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->StreamEvents(&ctx, req);
    node::v1::EventRecord rec;
    served = reader->Read(&rec);
    ctx.TryCancel();
    reader->Finish();
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(served);
  for (size_t i = 1; i < open.size(); ++i) {
    open[i]->ctx.TryCancel();
    open[i]->reader->Finish();
  }
}

TEST_CASE("one client address gets at most max_streams_per_client streams") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path(), "", 0, 10, /*max_streams=*/10,
                             /*max_streams_per_client=*/2);
  REQUIRE(r.client->Submit(Send(1, 5, 10, 1), true, std::chrono::seconds(10))->committed());
  node::v1::StreamEventsRequest req;
  req.set_from_height(1);
  // Separate connections from the same address count together.
  std::vector<std::unique_ptr<node::v1::Node::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<node::v1::EventRecord>>> readers;
  for (int i = 0; i < 3; ++i) {
    grpc::ChannelArguments a;
    a.SetInt("grpc.use_local_subchannel_pool", 1);
    stubs.push_back(node::v1::Node::NewStub(
        grpc::CreateCustomChannel(r.server->address(), grpc::InsecureChannelCredentials(), a)));
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    readers.push_back(stubs.back()->StreamEvents(contexts.back().get(), req));
    node::v1::EventRecord rec;
    const bool served = readers.back()->Read(&rec);
    if (i < 2) {
      CHECK(served);
    } else {
      CHECK_FALSE(served);
      grpc::Status st = readers.back()->Finish();
      CHECK(st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
      CHECK(st.error_message().find("max_streams_per_client = 2") != std::string::npos);
    }
  }
  for (int i = 0; i < 2; ++i) {
    contexts[static_cast<size_t>(i)]->TryCancel();
    readers[static_cast<size_t>(i)]->Finish();
  }
}

TEST_CASE("server reflection lists the node service (grpcurl works)") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path());
  auto channel = grpc::CreateChannel(r.server->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  auto step = [&](void* tag) {
    void* got = nullptr;
    bool ok = false;
    REQUIRE(cq.Next(&got, &ok));
    CHECK(got == tag);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(step(reinterpret_cast<void*>(1)));
  // ServerReflectionRequest{list_services: ""}: field 7, length 0.
  const char request[] = {0x3a, 0x00};
  grpc::Slice slice(request, sizeof(request));
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  REQUIRE(step(reinterpret_cast<void*>(2)));
  call->WritesDone(reinterpret_cast<void*>(3));
  REQUIRE(step(reinterpret_cast<void*>(3)));
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(4));
  REQUIRE(step(reinterpret_cast<void*>(4)));
  std::vector<grpc::Slice> slices;
  REQUIRE(in.Dump(&slices).ok());
  std::string reply;
  for (const auto& s : slices) reply.append(reinterpret_cast<const char*>(s.begin()), s.size());
  CHECK(reply.find("probity.node.v1.Node") != std::string::npos);
  ctx.TryCancel();
  grpc::Status st;
  call->Finish(&st, reinterpret_cast<void*>(5));
  step(reinterpret_cast<void*>(5));
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  r.Stop();
}

TEST_CASE("with keep_recent_heights, old states are pruned and only they refuse queries") {
  testing::TempDir dir;
  Running r = Running::Start(dir.path(), "", 3);
  for (uint64_t n = 1; n <= 6; ++n) {
    REQUIRE(r.client->Submit(Send(1, 2, 1, n), true, std::chrono::seconds(10))->committed());
  }
  uint64_t h = r.node->height();
  REQUIRE(h >= 6);
  Bytes key = Bank::BalanceKey(TestKey(2).PublicKey());
  auto old = r.client->QueryStore(key, 1);
  CHECK_FALSE(old.ok());
  CHECK(old.status().code() == Code::kNotFound);
  auto recent = r.client->QueryStore(key, h - 1);
  REQUIRE(recent.ok());
  CHECK(Bank::DecodeAmount(recent->second).value() == kFunds + 5);
  // Blocks and transactions stay.
  CHECK(r.client->GetBlock(1).ok());
  r.Stop();
}

TEST_CASE("a follower takes a block larger than gRPC's default 4 MiB message") {
  testing::TempDir pdir, fdir;
  Running p = Running::Start(pdir.path(), "", 0, 3000);
  REQUIRE(p.node->WaitForHeight(1, std::chrono::seconds(5)));
  // 10,000 transfers with 256-byte memos: one block of about 4.5 MB.
  const int n = 10000;
  std::vector<Bytes> txs(n);
  std::vector<std::thread> signers;
  for (int t = 0; t < 2; ++t) {
    signers.emplace_back([&, t] {
      for (int i = t; i < n; i += 2) {
        int from = 1 + i % kAccounts;
        bank::v1::MsgSend m;
        m.set_to(TestKey(1 + (i + 1) % kAccounts).PublicKey().data(), 32);
        m.set_amount(1);
        TxFields f;
        f.chain_id = "test-chain";
        f.nonce = static_cast<uint64_t>(i / kAccounts + 1);
        f.fee = 1;
        f.msg_type_url = std::string(Bank::kMsgSend);
        std::string v = SerializeCanonical(m);
        f.msg_value.assign(v.begin(), v.end());
        f.memo = std::string(256, 'm');
        txs[static_cast<size_t>(i)] =
            BuildSignedTx(TestKey(static_cast<uint64_t>(from)), f).value();
      }
    });
  }
  for (auto& t : signers) t.join();
  for (const auto& tx : txs) REQUIRE(p.node->SubmitTx(tx, false, {}).verdict.ok());
  REQUIRE(p.node->WaitForHeight(2, std::chrono::seconds(20)));
  auto big = p.node->blocks().GetBlock(2);
  REQUIRE(big.ok());
  REQUIRE(big->has_value());
  CHECK((*big)->size() > (4u << 20));
  Running f = Running::Start(fdir.path(), p.server->address());
  REQUIRE(f.node->WaitForHeight(p.node->height(), std::chrono::seconds(30)));
  CHECK(f.node->Describe().app_hash == p.node->Describe().app_hash);
  CHECK(f.node->Describe().halted.empty());
  auto via_client = f.client->GetBlock(2);  // the verifying client takes it too
  REQUIRE_MESSAGE(via_client.ok(), via_client.status().ToString());
  f.Stop();
  p.Stop();
}
