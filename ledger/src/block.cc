#include "probity/ledger/block.h"

#include <cstring>

#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"

namespace probity::ledger {
namespace {

template <typename Events>
void WriteEvents(ByteWriter* w, const Events& events) {
  w->U32(static_cast<uint32_t>(events.size()));
  for (const auto& e : events) {
    w->LengthPrefixed(AsBytes(e.type()));
    w->U32(static_cast<uint32_t>(e.attributes_size()));
    for (const auto& a : e.attributes()) {
      w->LengthPrefixed(AsBytes(a.key()));
      w->LengthPrefixed(AsBytes(a.value()));
      w->U8(a.index() ? 1 : 0);
    }
  }
}

}  // namespace

Hash256 BlockHash(ByteView header_bytes) { return TaggedHash(kBlockTag, header_bytes); }

Hash256 TxRoot(std::span<const Hash256> tx_ids) {
  std::vector<Hash256> leaves;
  leaves.reserve(tx_ids.size());
  for (const auto& id : tx_ids) leaves.push_back(MerkleLeafHash(id));
  return MerkleRootFromLeafHashes(leaves);
}

Bytes ResultLeaf(const types::v1::TxResult& r) {
  ByteWriter w;
  w.U32(r.code());
  w.LengthPrefixed(AsBytes(r.codespace()));
  w.U64(r.fee());
  WriteEvents(&w, r.events());
  return w.Take();
}

Hash256 ResultsRoot(std::span<const types::v1::TxResult> results) {
  std::vector<Hash256> leaves;
  leaves.reserve(results.size());
  for (const auto& r : results) leaves.push_back(MerkleLeafHash(ResultLeaf(r)));
  return MerkleRootFromLeafHashes(leaves);
}

Hash256 BlockEventsHash(std::span<const types::v1::Event> begin,
                        std::span<const types::v1::Event> end) {
  ByteWriter w;
  WriteEvents(&w, begin);
  WriteEvents(&w, end);
  return TaggedHash("probity/block-events", w.bytes());
}

Result<Hash256> ToHash256(const std::string& field, const char* what) {
  if (field.size() != 32) {
    return Status::Corruption(std::string(what) + " must be 32 bytes, got " +
                              std::to_string(field.size()));
  }
  Hash256 h;
  std::memcpy(h.data(), field.data(), 32);
  return h;
}

namespace {
size_t VarintSize(uint64_t n) {
  size_t k = 1;
  while (n > 0x7F) n >>= 7, ++k;
  return k;
}
}  // namespace

Result<Bytes> SignBlock(const types::v1::BlockHeader& header, std::span<const Bytes> txs,
                        const SecretKey& proposer) {
  const std::string header_bytes = SerializeCanonical(header);
  PROBITY_ASSIGN_OR_RETURN(SchnorrSig sig, proposer.Sign(BlockHash(AsBytes(header_bytes))));
  // The canonical encoding of Block written directly (fields 1, 2, then 3 once per
  // transaction; a repeated field's empty elements are written too), so that each transaction
  // is copied once, into the block, instead of into a message and then out of it.
  size_t size = 0;
  auto field_size = [](size_t n) { return 1 + VarintSize(n) + n; };
  size += header_bytes.empty() ? 0 : field_size(header_bytes.size());
  size += field_size(sig.size());
  for (const auto& t : txs) size += field_size(t.size());
  Bytes out;
  out.reserve(size);
  auto field = [&](uint8_t tag, ByteView v) {
    out.push_back(tag);
    for (uint64_t n = v.size();; n >>= 7) {
      out.push_back(static_cast<uint8_t>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
      if (n <= 0x7F) break;
    }
    out.insert(out.end(), v.begin(), v.end());
  };
  if (!header_bytes.empty()) field(0x0A, AsBytes(header_bytes));
  field(0x12, ByteView(sig));
  for (const auto& t : txs) field(0x1A, ByteView(t));
  return out;
}

Result<types::v1::BlockHeader> VerifySignedHeader(ByteView header_bytes, ByteView signature,
                                                  const XOnlyPubKey& proposer,
                                                  const std::string& chain_id) {
  types::v1::BlockHeader h;
  if (!ParseCanonical(header_bytes, &h)) {
    return Status::Corruption("block header is not a canonical BlockHeader");
  }
  if (h.chain_id() != chain_id) {
    return Status::InvalidArgument("header is for chain '" + h.chain_id() + "', expected '" +
                                   chain_id + "'");
  }
  if (h.proposer().size() != 32 || std::memcmp(h.proposer().data(), proposer.data(), 32) != 0) {
    return Status::Unauthenticated("header names a proposer other than the chain's");
  }
  if (h.app_hash().size() != 32 || h.tx_root().size() != 32 || h.results_root().size() != 32 ||
      h.prev_block_hash().size() != 32 || h.block_events_hash().size() != 32) {
    return Status::Corruption("header hashes must be 32 bytes each");
  }
  if (!VerifySchnorr(proposer, BlockHash(header_bytes), signature)) {
    return Status::Unauthenticated("the proposer's signature on header " +
                                   std::to_string(h.height()) + " does not verify");
  }
  return h;
}

Result<DecodedBlock> DecodeAndVerifyBlock(ByteView bytes, const XOnlyPubKey& proposer,
                                          const std::string& chain_id) {
  types::v1::Block block;
  if (!ParseCanonical(bytes, &block)) return Status::Corruption("not a canonical Block");
  DecodedBlock d;
  d.header_bytes = ToBytes(AsBytes(block.header()));
  PROBITY_ASSIGN_OR_RETURN(
      d.header,
      VerifySignedHeader(d.header_bytes, AsBytes(block.proposer_signature()), proposer, chain_id));
  std::memcpy(d.signature.data(), block.proposer_signature().data(), 64);
  if (d.header.tx_count() != static_cast<uint64_t>(block.txs_size())) {
    return Status::Corruption("header counts " + std::to_string(d.header.tx_count()) +
                              " transactions but the block carries " +
                              std::to_string(block.txs_size()));
  }
  std::vector<Hash256> ids;
  ids.reserve(block.txs_size());
  d.txs.reserve(block.txs_size());
  for (const auto& t : block.txs()) {
    ids.push_back(Sha256(AsBytes(t)));
    d.txs.push_back(ToBytes(AsBytes(t)));
  }
  if (std::memcmp(TxRoot(ids).data(), d.header.tx_root().data(), 32) != 0) {
    return Status::Corruption("tx_root of block " + std::to_string(d.header.height()) +
                              " does not match its transactions");
  }
  d.hash = BlockHash(d.header_bytes);
  return d;
}

}  // namespace probity::ledger
