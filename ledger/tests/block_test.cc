// Blocks and the light client: what a header, a block, a tx proof and a state proof must
// satisfy, and that every kind of tampering is caught.
#include "probity/ledger/block.h"

#include <doctest/doctest.h>
#include <rocksdb/write_batch.h>

#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/light_client.h"
#include "probity/ledger/state_tree.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "test_chain.h"

using namespace probity;
using namespace probity::ledger;

namespace {

std::string F(const Hash256& h) { return std::string(reinterpret_cast<const char*>(h.data()), 32); }

struct Made {
  types::v1::BlockHeader header;
  std::vector<Bytes> txs;
  std::vector<types::v1::TxResult> results;
  Bytes block;
};

Made MakeBlock(const SecretKey& proposer, int ntx, const Hash256& app_hash = Sha256("state")) {
  Made m;
  std::vector<Hash256> ids;
  for (int i = 0; i < ntx; ++i) {
    std::string t = "transaction " + std::to_string(i);
    m.txs.emplace_back(t.begin(), t.end());
    ids.push_back(Sha256(ByteView(m.txs.back())));
    types::v1::TxResult r;
    r.set_code(i % 3 == 0 ? 5 : 0);
    r.set_fee(static_cast<uint64_t>(i));
    r.set_log("reason " + std::to_string(i));
    m.results.push_back(r);
  }
  m.header.set_chain_id("test-chain");
  m.header.set_height(7);
  m.header.set_time_unix_ms(1000);
  m.header.set_prev_block_hash(F(Sha256("parent")));
  m.header.set_tx_root(F(TxRoot(ids)));
  m.header.set_app_hash(F(app_hash));
  m.header.set_proposer(F(proposer.PublicKey()));
  m.header.set_tx_count(static_cast<uint32_t>(ntx));
  m.header.set_results_root(F(ResultsRoot(m.results)));
  m.header.set_block_events_hash(F(BlockEventsHash({}, {})));
  m.block = SignBlock(m.header, m.txs, proposer).value();
  return m;
}

}  // namespace

TEST_CASE("a signed block verifies; a wrong key, chain, tx or header field does not") {
  SecretKey k = testing::TestKey(0);
  Made m = MakeBlock(k, 5);
  auto d = DecodeAndVerifyBlock(m.block, k.PublicKey(), "test-chain");
  REQUIRE(d.ok());
  CHECK(d->header.height() == 7);
  CHECK(d->txs.size() == 5);
  CHECK(d->hash == BlockHash(AsBytes(SerializeCanonical(m.header))));

  CHECK(DecodeAndVerifyBlock(m.block, testing::TestKey(1).PublicKey(), "test-chain")
            .status()
            .code() == Code::kUnauthenticated);
  CHECK_FALSE(DecodeAndVerifyBlock(m.block, k.PublicKey(), "other-chain").ok());

  types::v1::Block b;
  REQUIRE(b.ParseFromArray(m.block.data(), static_cast<int>(m.block.size())));
  types::v1::Block swapped = b;
  swapped.mutable_txs()->SwapElements(0, 1);  // reordered transactions
  auto st = DecodeAndVerifyBlock(AsBytes(SerializeCanonical(swapped)), k.PublicKey(), "test-chain");
  CHECK(st.status().message().find("tx_root") != std::string::npos);
  types::v1::Block dropped = b;
  dropped.mutable_txs()->RemoveLast();
  CHECK_FALSE(
      DecodeAndVerifyBlock(AsBytes(SerializeCanonical(dropped)), k.PublicKey(), "test-chain").ok());
  types::v1::BlockHeader h2 = m.header;
  h2.set_app_hash(F(Sha256("other state")));
  types::v1::Block forged = b;
  forged.set_header(SerializeCanonical(h2));  // the old signature no longer covers it
  CHECK(DecodeAndVerifyBlock(AsBytes(SerializeCanonical(forged)), k.PublicKey(), "test-chain")
            .status()
            .code() == Code::kUnauthenticated);
  for (size_t n : {size_t{0}, size_t{1}, m.block.size() / 2, m.block.size() - 1}) {
    CHECK_FALSE(
        DecodeAndVerifyBlock(ByteView(m.block.data(), n), k.PublicKey(), "test-chain").ok());
  }
}

TEST_CASE("a signed block is the canonical encoding of its Block message") {
  SecretKey k = testing::TestKey(0);
  for (int ntx : {0, 1, 5}) {
    Made m = MakeBlock(k, ntx);
    if (ntx == 5) {
      // An empty and a long transaction: a repeated field writes empty elements, and a length
      // past 127 takes a second varint byte.
      m.txs[1].clear();
      m.txs[2].assign(300, 0xAB);
      m.block = SignBlock(m.header, m.txs, k).value();
    }
    types::v1::Block b;
    REQUIRE(b.ParseFromArray(m.block.data(), static_cast<int>(m.block.size())));
    CHECK(b.txs_size() == ntx);
    CHECK(b.header() == SerializeCanonical(m.header));
    CHECK(AsChars(m.block) == SerializeCanonical(b));
  }
}

TEST_CASE("results root ignores the log but not the code, fee or events") {
  std::vector<types::v1::TxResult> r(2);
  r[0].set_code(3);
  r[0].set_log("a");
  Hash256 base = ResultsRoot(r);
  r[0].set_log("reworded");
  CHECK(ResultsRoot(r) == base);
  r[0].set_fee(1);
  CHECK(ResultsRoot(r) != base);
  r[0].set_fee(0);
  r[1].add_events()->set_type("x.y");
  CHECK(ResultsRoot(r) != base);
}

TEST_CASE("light client: tx and result proofs against a signed header") {
  SecretKey k = testing::TestKey(0);
  Made m = MakeBlock(k, 6);
  TrustAnchor anchor{"test-chain", k.PublicKey()};
  std::vector<Hash256> tx_leaves, result_leaves;
  for (const auto& t : m.txs) tx_leaves.push_back(MerkleLeafHash(Sha256(ByteView(t))));
  for (const auto& r : m.results) result_leaves.push_back(MerkleLeafHash(ResultLeaf(r)));
  auto make_resp = [&](uint32_t i) {
    node::v1::GetTxResponse resp;
    resp.set_height(7);
    resp.set_index(i);
    resp.set_tx(m.txs[i].data(), m.txs[i].size());
    *resp.mutable_result() = m.results[i];
    auto tp = MerkleInclusionProof(tx_leaves, i);
    auto rp = MerkleInclusionProof(result_leaves, i);
    REQUIRE(tp.ok());
    REQUIRE(rp.ok());
    for (const auto& h : *tp) resp.add_tx_proof(F(h));
    for (const auto& h : *rp) resp.add_result_proof(F(h));
    types::v1::Block b;
    b.ParseFromArray(m.block.data(), static_cast<int>(m.block.size()));
    resp.mutable_header()->set_header(b.header());
    resp.mutable_header()->set_signature(b.proposer_signature());
    return resp;
  };
  for (uint32_t i = 0; i < 6; ++i) {
    CHECK(VerifyTxResponse(anchor, Sha256(ByteView(m.txs[i])), make_resp(i)).ok());
  }
  auto resp = make_resp(2);
  Hash256 id = Sha256(ByteView(m.txs[2]));
  auto lie = resp;
  lie.mutable_result()->set_code(9);  // a success reported as a failure
  CHECK(VerifyTxResponse(anchor, id, lie).code() == Code::kUnauthenticated);
  lie = resp;
  lie.set_index(3);  // the wrong position
  CHECK_FALSE(VerifyTxResponse(anchor, id, lie).ok());
  CHECK_FALSE(VerifyTxResponse(anchor, Sha256("another tx"), resp).ok());
  lie = resp;
  lie.mutable_header()->set_signature(std::string(64, '\1'));
  CHECK(VerifyTxResponse(anchor, id, lie).code() == Code::kUnauthenticated);
  CHECK_FALSE(VerifyTxResponse({"test-chain", testing::TestKey(5).PublicKey()}, id, resp).ok());
}

TEST_CASE("light client: state proofs from the real tree against a signed header") {
  testing::TempDir dir;
  auto storage = Storage::Open(dir.path(), {}).value();
  auto tree = testing::OpenTestTree(storage.get());
  rocksdb::WriteBatch batch;
  Bytes key = {'b', 'a', 'n', 'k', '/', 'x'}, value = {1, 2, 3};
  Hash256 root =
      tree->ApplyVersion(1, {{key, value}, {Bytes{'o', 't', 'h', 'e', 'r'}, Bytes{9}}}, &batch)
          .value();
  REQUIRE(storage->WriteSynced(&batch).ok());
  tree->MarkCommitted(1);

  SecretKey k = testing::TestKey(0);
  Made m = MakeBlock(k, 0, root);
  types::v1::Block b;
  b.ParseFromArray(m.block.data(), static_cast<int>(m.block.size()));
  TrustAnchor anchor{"test-chain", k.PublicKey()};
  auto answer = [&](ByteView q) {
    auto [v, proof] = tree->GetWithProof(1, q).value();
    node::v1::QueryResponse r;
    r.set_height(7);
    r.set_key(q.data(), q.size());
    r.set_exists(v.has_value());
    if (v) r.set_value(v->data(), v->size());
    r.set_proof(proof.encoded.data(), proof.encoded.size());
    r.mutable_header()->set_header(b.header());
    r.mutable_header()->set_signature(b.proposer_signature());
    return r;
  };
  auto present = answer(key);
  auto got = VerifyStoreQuery(anchor, key, present);
  REQUIRE(got.ok());
  CHECK(*got == std::optional<Bytes>(value));
  Bytes missing = {'n', 'o', 'p', 'e'};
  auto absent = VerifyStoreQuery(anchor, missing, answer(missing));
  REQUIRE(absent.ok());
  CHECK_FALSE(absent->has_value());

  auto lie = present;
  lie.set_value("\x01\x02\x04");  // a different balance
  CHECK_FALSE(VerifyStoreQuery(anchor, key, lie).ok());
  lie = present;
  lie.set_exists(false);  // hiding the key
  lie.clear_value();
  CHECK_FALSE(VerifyStoreQuery(anchor, key, lie).ok());
  CHECK_FALSE(VerifyStoreQuery(anchor, missing, present).ok());  // another key's answer
  lie = present;
  lie.set_height(8);
  CHECK_FALSE(VerifyStoreQuery(anchor, key, lie).ok());
  lie = present;
  lie.clear_header();
  CHECK(VerifyStoreQuery(anchor, key, lie).status().code() == Code::kUnauthenticated);
}
