#include "probity/ledger/light_client.h"

#include <cstring>

#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/state_tree.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"

namespace probity::ledger {
namespace {

Result<std::vector<Hash256>> ProofPath(const google::protobuf::RepeatedPtrField<std::string>& p) {
  std::vector<Hash256> out;
  for (const auto& h : p) {
    PROBITY_ASSIGN_OR_RETURN(Hash256 x, ToHash256(h, "proof hash"));
    out.push_back(x);
  }
  return out;
}

}  // namespace

Result<std::optional<Bytes>> VerifyStoreQuery(const TrustAnchor& anchor, ByteView key,
                                              const node::v1::QueryResponse& resp) {
  if (!resp.has_header() || resp.header().header().empty()) {
    return Status::Unauthenticated("the answer carries no signed header to check it against");
  }
  PROBITY_ASSIGN_OR_RETURN(
      types::v1::BlockHeader h,
      VerifySignedHeader(AsBytes(resp.header().header()), AsBytes(resp.header().signature()),
                         anchor.proposer, anchor.chain_id));
  if (h.height() != resp.height()) {
    return Status::Unauthenticated("the header is for height " + std::to_string(h.height()) +
                                   ", the answer for " + std::to_string(resp.height()));
  }
  if (resp.key().size() != key.size() ||
      (!key.empty() && std::memcmp(resp.key().data(), key.data(), key.size()) != 0)) {
    return Status::Unauthenticated("the answer is about another key");
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 app_hash, ToHash256(h.app_hash(), "app hash"));
  std::optional<Bytes> value;
  if (resp.exists()) value = ToBytes(AsBytes(resp.value()));
  StateProof proof{ToBytes(AsBytes(resp.proof()))};
  Status st = VerifyStateProof(app_hash, key, value, proof);
  if (!st.ok()) return st.WithContext("state proof at height " + std::to_string(h.height()));
  return value;
}

Status VerifyTxResponse(const TrustAnchor& anchor, const Hash256& tx_id,
                        const node::v1::GetTxResponse& resp) {
  PROBITY_ASSIGN_OR_RETURN(
      types::v1::BlockHeader h,
      VerifySignedHeader(AsBytes(resp.header().header()), AsBytes(resp.header().signature()),
                         anchor.proposer, anchor.chain_id));
  if (h.height() != resp.height()) return Status::Unauthenticated("header of another height");
  if (Sha256(AsBytes(resp.tx())) != tx_id) {
    return Status::Unauthenticated("the transaction returned does not hash to the id asked for");
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 tx_root, ToHash256(h.tx_root(), "tx root"));
  PROBITY_ASSIGN_OR_RETURN(Hash256 results_root, ToHash256(h.results_root(), "results root"));
  PROBITY_ASSIGN_OR_RETURN(auto tx_path, ProofPath(resp.tx_proof()));
  PROBITY_ASSIGN_OR_RETURN(auto result_path, ProofPath(resp.result_proof()));
  if (!VerifyMerkleInclusion(MerkleLeafHash(tx_id), resp.index(), h.tx_count(), tx_path, tx_root)) {
    return Status::Unauthenticated("the transaction is not in block " + std::to_string(h.height()) +
                                   " at the index claimed");
  }
  if (!VerifyMerkleInclusion(MerkleLeafHash(ResultLeaf(resp.result())), resp.index(), h.tx_count(),
                             result_path, results_root)) {
    return Status::Unauthenticated("the result claimed is not the one committed in block " +
                                   std::to_string(h.height()));
  }
  return Status::OK();
}

Result<DecodedBlock> VerifyBlockResponse(const TrustAnchor& anchor,
                                         const node::v1::GetBlockResponse& resp) {
  std::string bytes = SerializeCanonical(resp.block());
  PROBITY_ASSIGN_OR_RETURN(DecodedBlock d,
                           DecodeAndVerifyBlock(AsBytes(bytes), anchor.proposer, anchor.chain_id));
  if (resp.block_hash().size() != 32 ||
      std::memcmp(resp.block_hash().data(), d.hash.data(), 32) != 0) {
    return Status::Unauthenticated("the block hash given does not match the header");
  }
  if (resp.has_results()) {
    const auto& r = resp.results();
    std::vector<types::v1::TxResult> results(r.tx_results().begin(), r.tx_results().end());
    if (results.size() != d.txs.size() ||
        ResultsRoot(results) != ToHash256(d.header.results_root(), "results root").value()) {
      return Status::Unauthenticated("the results given are not the ones committed");
    }
    std::vector<types::v1::Event> begin(r.begin_block_events().begin(),
                                        r.begin_block_events().end());
    std::vector<types::v1::Event> end(r.end_block_events().begin(), r.end_block_events().end());
    if (BlockEventsHash(begin, end) !=
        ToHash256(d.header.block_events_hash(), "block events hash").value()) {
      return Status::Unauthenticated("the block events given are not the ones committed");
    }
  }
  return d;
}

}  // namespace probity::ledger
