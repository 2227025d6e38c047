// Malformed input of every kind sent to a running node over gRPC: each is refused with a code
// and a reason a person can read, and the node keeps running and committing.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <random>

#include "node_harness.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/node/v1/node.grpc.pb.h"
#include "probity/primitives/sha256.h"
#include "probity/types/v1/tx.pb.h"

using namespace probity;
using namespace probity::ledger;
using testing::TestKey;

namespace {

uint32_t C(TxCode c) { return static_cast<uint32_t>(c); }

struct Node {
  testing::TempDir dir;
  std::unique_ptr<testing::NodeProcess> proc;
  std::unique_ptr<node::v1::Node::Stub> stub;
  Node() {
    std::string home = dir.path() + "/node";
    REQUIRE(testing::InitHome(home, {"--fund", testing::FundFlag(3, 1000000)}).ok());
    auto p = testing::NodeProcess::Start(home, {"--block-interval-ms", "20"});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    proc = std::move(*p);
    stub = node::v1::Node::NewStub(
        grpc::CreateChannel(proc->address(), grpc::InsecureChannelCredentials()));
  }
  node::v1::SubmitTxResponse Submit(const std::string& bytes) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    node::v1::SubmitTxRequest req;
    req.set_tx(bytes);
    node::v1::SubmitTxResponse resp;
    grpc::Status st = stub->SubmitTx(&ctx, req, &resp);
    REQUIRE_MESSAGE(st.ok(), st.error_message());
    return resp;
  }
};

std::string S(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

TEST_CASE("every kind of malformed transaction is refused with a reason; the node lives on") {
  Node n;
  Bytes good = testing::Transfer(1, TestKey(2).PublicKey(), 5, 1);
  types::v1::SignedTx stx;
  REQUIRE(stx.ParseFromArray(good.data(), static_cast<int>(good.size())));

  struct Case {
    const char* name;
    std::string bytes;
    uint32_t code;
    const char* reason;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", "", C(TxCode::kMalformed), "empty"});
  cases.push_back(
      {"garbage", "\xff\xfe this is not a transaction", C(TxCode::kMalformed), "not a SignedTx"});
  cases.push_back({"truncated", S(good).substr(0, good.size() / 2), C(TxCode::kMalformed), ""});
  auto bad_sig = stx;
  std::string sig = bad_sig.signature();
  sig[10] ^= 1;
  bad_sig.set_signature(sig);
  cases.push_back(
      {"bad signature", SerializeCanonical(bad_sig), C(TxCode::kBadSignature), "does not verify"});
  cases.push_back({"wrong chain", S(testing::Transfer(1, TestKey(2).PublicKey(), 5, 1, 1, "other")),
                   C(TxCode::kWrongChain), "other"});
  cases.push_back({"oversize", std::string(5000, 'x'), C(TxCode::kTooLarge), "limit"});
  TxFields f;
  f.chain_id = testing::kChainId;
  f.nonce = 1;
  f.fee = 1;
  f.msg_type_url = "probity.nothing.v1.MsgFly";
  cases.push_back({"unknown message", S(BuildSignedTx(TestKey(1), f).value()),
                   C(TxCode::kUnknownMessage), "no module handles"});
  f.msg_type_url = "probity.bank.v1.MsgSend";
  f.msg_value = {0x0a, 0x05, 1, 2};  // truncated MsgSend
  cases.push_back({"bad message", S(BuildSignedTx(TestKey(1), f).value()),
                   C(TxCode::kInvalidMessage), "MsgSend"});
  f.msg_value.clear();
  f.fee = 0;
  cases.push_back({"no fee", S(testing::Transfer(1, TestKey(2).PublicKey(), 5, 1, 0)),
                   C(TxCode::kFeeTooLow), "minimum"});
  cases.push_back({"gap", S(testing::Transfer(1, TestKey(2).PublicKey(), 5, 3)),
                   C(TxCode::kNonceGap), "out of order"});

  for (const auto& c : cases) {
    INFO(c.name);
    auto resp = n.Submit(c.bytes);
    CHECK(resp.code() == c.code);
    CHECK(resp.codespace() == "ledger");
    CHECK_FALSE(resp.log().empty());
    CHECK(resp.log().find(c.reason) != std::string::npos);
  }
  // Random junk of every length: always an answer.
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    std::string junk(rng() % 400, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    auto resp = n.Submit(junk);
    CHECK(resp.code() != 0);
    CHECK_FALSE(resp.log().empty());
  }
  // The good one commits; then its replay is refused.
  {
    grpc::ClientContext ctx;
    node::v1::SubmitTxRequest req;
    req.set_tx(S(good));
    req.set_wait_for_commit(true);
    node::v1::SubmitTxResponse resp;
    REQUIRE(n.stub->SubmitTx(&ctx, req, &resp).ok());
    CHECK(resp.code() == 0);
    CHECK(resp.committed());
  }
  auto replay = n.Submit(S(good));
  CHECK(replay.code() == C(TxCode::kNonceUsed));
  CHECK(replay.log().find("already used") != std::string::npos);
  CHECK(n.proc->process().Running());
}

TEST_CASE("malformed queries get gRPC errors with reasons, not crashes") {
  Node n;
  REQUIRE(n.proc->WaitForHeight(1, 10000));
  auto call = [&](auto method, const auto& req, auto* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ((*n.stub).*method)(&ctx, req, resp);
  };
  node::v1::GetTxRequest bad_id;
  bad_id.set_tx_id("short");
  node::v1::GetTxResponse tx;
  auto st = call(&node::v1::Node::Stub::GetTx, bad_id, &tx);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().find("32 bytes") != std::string::npos);
  node::v1::GetTxRequest unknown;
  Hash256 h = Sha256("nothing");
  unknown.set_tx_id(std::string(h.begin(), h.end()));
  CHECK(call(&node::v1::Node::Stub::GetTx, unknown, &tx).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  node::v1::GetBlockRequest far;
  far.set_height(1000000);
  node::v1::GetBlockResponse block;
  CHECK(call(&node::v1::Node::Stub::GetBlock, far, &block).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  node::v1::QueryResponse q;
  for (const char* path : {"", "nosuch", "nosuch/thing", "bank/nothing", "bank/balance"}) {
    node::v1::QueryRequest req;
    req.set_path(path);
    req.set_data("\x01\x02");
    auto s = call(&node::v1::Node::Stub::Query, req, &q);
    INFO(path);
    CHECK_FALSE(s.ok());
    CHECK_FALSE(s.error_message().empty());
  }
  node::v1::QueryRequest future;
  future.set_path("store");
  future.set_height(999999);
  CHECK(call(&node::v1::Node::Stub::Query, future, &q).error_code() == grpc::StatusCode::NOT_FOUND);
  node::v1::QueryRequest proved_module;
  proved_module.set_path("bank/supply");
  proved_module.set_prove(true);
  CHECK(call(&node::v1::Node::Stub::Query, proved_module, &q).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  node::v1::StreamEventsRequest bad_account;
  bad_account.set_account("not-an-address");
  auto reader = n.stub->StreamEvents(&ctx, bad_account);
  node::v1::EventRecord rec;
  CHECK_FALSE(reader->Read(&rec));
  CHECK(reader->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(n.proc->process().Running());
  CHECK(n.proc->Height() >= 1);
}
