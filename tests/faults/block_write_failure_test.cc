// A block write that RocksDB fails (injected with PROBITY_TEST_FAIL_BLOCK_WRITE_AT, as a full or
// failing disk would make it fail): the producer must stop cleanly (exit status 3, the reason
// logged), and a restart must resume at the last block whose write returned, with every
// transaction it reported committed still there with the same result, and go on committing.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "node_harness.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/encoding.h"

namespace probity::ledger {
namespace {

using testing::TestKey;

struct Seen {
  Hash256 id{};
  uint64_t height = 0;
  uint32_t index = 0;
  types::v1::TxResult result;
};

TEST_CASE("a failed block write stops the producer, and a restart resumes at the last commit") {
  testing::TempDir dir;
  const std::string home = dir.path() + "/node";
  REQUIRE(testing::InitHome(home, {"--fund", testing::FundFlag(2, 1'000'000)}).ok());
  // Write 1 is genesis, so write 12 is block 11: blocks 1..10 commit, block 11 fails.
  constexpr uint64_t kFailingWrite = 12;
  auto node = testing::NodeProcess::Start(
      home, {"--block-interval-ms", "10"},
      {"PROBITY_TEST_FAIL_BLOCK_WRITE_AT=" + std::to_string(kFailingWrite)});
  REQUIRE_MESSAGE(node.ok(), node.status().ToString());

  std::vector<Seen> seen;
  uint64_t nonce = 1;
  const XOnlyPubKey to = TestKey(2).PublicKey();
  {
    auto client = (*node)->Client();
    // One transfer per block, each waited for, until the node stops answering.
    for (int i = 0; i < 100; ++i) {
      auto r =
          client->Submit(testing::Transfer(1, to, 1 + nonce, nonce), true, std::chrono::seconds(2));
      if (!r.ok() || !r->committed()) break;
      Seen s;
      std::memcpy(s.id.data(), r->tx_id().data(), 32);
      s.height = r->height();
      s.index = r->index();
      s.result = r->result();
      seen.push_back(s);
      ++nonce;
    }
  }
  // Stopped cleanly: its own exit status (not a crash signal), the injected error in its log.
  const int code = (*node)->process().WaitFor(10000);
  const std::string log = (*node)->process().Output();
  CHECK_MESSAGE(code == 3, log);
  CHECK_MESSAGE(log.find("injected failure") != std::string::npos, log);
  CHECK_MESSAGE(log.find("the producer stopped at height 11") != std::string::npos, log);
  // Block 1 may be cut empty, so count heights, not transfers.
  REQUIRE(seen.size() >= kFailingWrite - 3);
  CHECK(seen.back().height == kFailingWrite - 2);

  // Restarted without the fault: at the last committed block, nothing it reported lost.
  auto again = testing::NodeProcess::Start(home, {"--block-interval-ms", "10"});
  REQUIRE_MESSAGE(again.ok(), again.status().ToString());
  auto client = (*again)->Client();
  CHECK((*again)->Height() == kFailingWrite - 2);
  for (const Seen& s : seen) {
    auto tx = client->GetTx(s.id);  // proven against the signed header
    REQUIRE_MESSAGE(tx.ok(), tx.status().ToString());
    CHECK(tx->height() == s.height);
    CHECK(tx->index() == s.index);
    CHECK(tx->result().SerializeAsString() == s.result.SerializeAsString());
  }
  // The transfer in the failed block was never committed: its nonce is free, and the chain
  // goes on from there.
  auto r = client->Submit(testing::Transfer(1, to, 7, nonce), true, std::chrono::seconds(5));
  REQUIRE(r.ok());
  CHECK_MESSAGE(r->committed(), r->log());
  CHECK(r->height() == kFailingWrite - 1);
}

}  // namespace
}  // namespace probity::ledger
