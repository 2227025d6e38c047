// Blocks from a producer or a peer: ledger::DecodeAndVerifyBlock (canonical encodings, field
// sizes, the proposer's signature, chain id, tx count and tx root), and the light client's
// ledger::VerifySignedHeader. Input: a selector byte, then for 0 the Block bytes, for 1 a
// length-prefixed header and the signature.
#include <cstdlib>

#include "fixtures.h"
#include "probity/ledger/block.h"
#include "probity/ledger/tx.h"
#include "quiet_protobuf.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  const XOnlyPubKey proposer = fuzz::FixedKey(0).PublicKey();
  const std::string chain(fuzz::kChainId);
  if (data[0] % 2 == 0) {
    auto b = ledger::DecodeAndVerifyBlock(in, proposer, chain);
    if (!b.ok()) return 0;
    // What it accepted is what it says: its hash, its tx count and root.
    std::vector<Hash256> ids;
    for (const auto& t : b->txs) ids.push_back(ledger::TxId(t));
    if (b->hash != ledger::BlockHash(b->header_bytes)) std::abort();
    if (b->header.tx_count() != ids.size()) std::abort();
    auto root = ledger::ToHash256(b->header.tx_root(), "tx_root");
    if (!root.ok() || *root != ledger::TxRoot(ids)) std::abort();
    return 0;
  }
  ByteView header;
  if (!fuzz::TakePart(in, &header)) return 0;
  auto h = ledger::VerifySignedHeader(header, in, proposer, chain);
  if (h.ok() && h->chain_id() != chain) std::abort();
  return 0;
}
