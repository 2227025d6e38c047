// The client library against a real node process: proven typed reads, the signer's nonces under
// concurrency, the event follower across a node restart, and provider request signatures.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "node_harness.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/client/chain.h"
#include "probity/client/events.h"
#include "probity/client/provider_client.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"

using namespace probity;
using namespace probity::client;
namespace lt = probity::ledger::testing;

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bank::v1::MsgSend Send(const XOnlyPubKey& to, uint64_t amount) {
  bank::v1::MsgSend m;
  m.set_to(to.data(), to.size());
  m.set_amount(amount);
  return m;
}

struct Chain {
  lt::TempDir dir;
  std::string home = dir.path() + "/home";
  std::string listen;
  std::unique_ptr<lt::NodeProcess> node;

  Chain() {
    REQUIRE(lt::InitHome(home, {"--fund", lt::FundFlag(4, 10'000'000)}).ok());
    // A fixed port (the restart must come back on it); another test may grab a free port
    // before the node binds it, so try a few.
    for (int attempt = 0; attempt < 5 && !node; ++attempt) {
      listen = "127.0.0.1:" + std::to_string(FreePort());
      TryStart();
    }
    REQUIRE(node);
  }
  void TryStart() {
    auto n = lt::NodeProcess::Start(home, {"--listen", listen, "--block-interval-ms", "20"});
    if (n.ok()) node = std::move(n).value();
  }
  void Start() {
    node.reset();
    TryStart();
    REQUIRE(node);
  }
  std::shared_ptr<const ledger::NodeClient> Client() { return node->Client(); }
  ledger::Genesis Genesis() { return *ledger::LoadGenesisFile(home + "/config/genesis.json"); }
};

}  // namespace

TEST_CASE("typed reads are proven; absent records are proven absent") {
  Chain chain;
  ChainReader reader(chain.Client());
  auto balance = reader.Balance(lt::TestKey(1).PublicKey());
  REQUIRE_MESSAGE(balance.ok(), balance.status().ToString());
  CHECK(*balance == 10'000'000);
  CHECK(*reader.Balance(lt::TestKey(9).PublicKey()) == 0);
  Hash256 nobody{};
  nobody[0] = 7;
  auto job = reader.Job(nobody);
  REQUIRE(job.ok());
  CHECK(!job->has_value());
  CHECK(!reader.Order(nobody)->has_value());
  CHECK(!reader.Offer(nobody)->has_value());
  auto params = reader.JobsParams();
  REQUIRE_MESSAGE(params.ok(), params.status().ToString());
  CHECK(params->max_opening_bytes() <= (4u << 20));
  CHECK(reader.Stake(lt::TestKey(1).PublicKey())->bonded() == 0);
}

TEST_CASE("the signer keeps nonces in order from many threads and reports failures") {
  Chain chain;
  auto client = chain.Client();
  TxSender sender(client, chain.Genesis(), lt::TestKey(1));
  const XOnlyPubKey to = lt::TestKey(2).PublicKey();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto out = sender.Send(Send(to, 10));
        if (out.ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 20);
  ChainReader reader(client);
  CHECK(*reader.Balance(to) == 10'000'000 + 200);

  // A transfer the bank refuses (more than the balance) fails in its block, with the reason.
  auto too_much = sender.Send(Send(to, 1'000'000'000'000));
  CHECK(too_much.status().code() == Code::kFailedPrecondition);
  CHECK(too_much.status().message().find("failed in block") != std::string::npos);
  // Someone else used the key meanwhile: the sender re-reads its nonce and still succeeds.
  TxSender other(client, chain.Genesis(), lt::TestKey(1));
  REQUIRE(other.Send(Send(to, 1)).ok());
  auto again = sender.Send(Send(to, 1));
  CHECK_MESSAGE(again.ok(), again.status().ToString());
}

TEST_CASE("the event follower delivers every event once, across a node restart") {
  Chain chain;
  auto client = chain.Client();
  TxSender sender(client, chain.Genesis(), lt::TestKey(3));
  const XOnlyPubKey to = lt::TestKey(4).PublicKey();

  std::mutex mu;
  std::vector<std::string> seen;  // tx ids of bank.transfer events
  std::atomic<int> breaks{0};
  EventFilter filter;
  filter.types = {"bank.transfer"};
  filter.account = EncodeAddress(to);
  EventFollower follower(
      chain.listen, filter,
      [&](const node::v1::EventRecord& r) {
        std::lock_guard<std::mutex> l(mu);
        seen.push_back(ToHex(AsBytes(r.tx_id())));
      },
      [&](const Status&) { ++breaks; },
      BackoffPolicy{std::chrono::milliseconds(50), std::chrono::milliseconds(400)});
  follower.Start();
  std::set<std::string> sent;
  for (int i = 0; i < 3; ++i) {
    auto out = sender.Send(Send(to, 5));
    REQUIRE(out.ok());
    sent.insert(ToHex(out->tx_id));
  }
  chain.node->process().Signal(SIGKILL);
  chain.node->process().Wait();
  chain.Start();
  client = chain.Client();
  TxSender sender2(client, chain.Genesis(), lt::TestKey(3));
  for (int i = 0; i < 3; ++i) {
    auto out = sender2.Send(Send(to, 5));
    REQUIRE_MESSAGE(out.ok(), out.status().ToString());
    sent.insert(ToHex(out->tx_id));
  }
  for (int i = 0; i < 800; ++i) {  // the node restarts under a loaded CI machine
    {
      std::lock_guard<std::mutex> l(mu);
      if (seen.size() >= 6) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  follower.Stop();
  std::lock_guard<std::mutex> l(mu);
  CHECK(seen.size() == 6);
  CHECK(std::set<std::string>(seen.begin(), seen.end()) == sent);
  CHECK(breaks >= 1);
  CHECK(follower.reconnects() >= 1);
}

TEST_CASE("provider request signatures bind method, provider, job, time and body") {
  const SecretKey& buyer = lt::TestKey(1);
  const XOnlyPubKey provider = lt::TestKey(2).PublicKey();
  Hash256 job{};
  job[3] = 9;
  Hash256 sha{};
  sha[0] = 1;
  Bytes body = UploadBody(provider::v1::BLOB_ROLE_SPEC, sha, 100);
  const uint64_t now = 1'800'000'000'000;
  auto auth = SignProviderRequest(buyer, "UploadBlob", provider, job, body, now);
  auto ok = VerifyProviderRequest(auth, "UploadBlob", provider, job, body, now + 1000, 120'000);
  REQUIRE(ok.ok());
  CHECK(*ok == buyer.PublicKey());

  auto refused = [&](const provider::v1::RequestAuth& a, std::string_view method,
                     const XOnlyPubKey& p, const Hash256& j, const Bytes& b, uint64_t at) {
    return VerifyProviderRequest(a, method, p, j, b, at, 120'000).status().code() ==
           Code::kUnauthenticated;
  };
  CHECK(refused(auth, "DownloadResult", provider, job, body, now));
  CHECK(refused(auth, "UploadBlob", lt::TestKey(3).PublicKey(), job, body, now));
  Hash256 other = job;
  other[0] ^= 1;
  CHECK(refused(auth, "UploadBlob", provider, other, body, now));
  CHECK(refused(auth, "UploadBlob", provider, job,
                UploadBody(provider::v1::BLOB_ROLE_SPEC, sha, 101), now));
  CHECK(refused(auth, "UploadBlob", provider, job, body, now + 121'000));
  CHECK(refused(auth, "UploadBlob", provider, job, body, now - 121'000));
  auto bad = auth;
  bad.mutable_signature()->at(5) ^= 1;
  CHECK(refused(bad, "UploadBlob", provider, job, body, now));
  bad = auth;
  bad.set_signature("short");
  CHECK(refused(bad, "UploadBlob", provider, job, body, now));
  bad = auth;
  bad.set_signer("x");
  CHECK(refused(bad, "UploadBlob", provider, job, body, now));
}
