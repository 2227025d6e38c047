// Checking what a node says, without trusting the node: the client side of the node API.
//
// The trust anchor is the chain id and the proposer's key from genesis.json. A header is
// believed when it carries the proposer's signature; everything else is believed only through
// a header: state through a state proof against its app hash (VerifyStateProof, from
// ledger/state), transactions and their results through RFC 6962 inclusion proofs against its
// tx_root and results_root, blocks through their own tx_root.
//
// Thread-safety: all functions are pure.
#pragma once

#include <optional>
#include <string>

#include "probity/ledger/block.h"
#include "probity/node/v1/node.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity::ledger {

struct TrustAnchor {
  std::string chain_id;
  XOnlyPubKey proposer{};
};

// A "store" QueryResponse for `key`: the header is signed, its height is the response's, and
// the proof shows the value (or its absence) under the header's app hash. Returns the checked
// value (nullopt = proven absent).
Result<std::optional<Bytes>> VerifyStoreQuery(const TrustAnchor& anchor, ByteView key,
                                              const node::v1::QueryResponse& resp);

// A GetTxResponse for `tx_id`: signed header; SHA-256(tx) == tx_id; the id is leaf `index` of
// tx_root; the result is leaf `index` of results_root.
Status VerifyTxResponse(const TrustAnchor& anchor, const Hash256& tx_id,
                        const node::v1::GetTxResponse& resp);

// A GetBlockResponse: signature, chain, tx_root (DecodeAndVerifyBlock), the block hash, and
// when results are included, results_root and block_events_hash. Returns the decoded block.
Result<DecodedBlock> VerifyBlockResponse(const TrustAnchor& anchor,
                                         const node::v1::GetBlockResponse& resp);

}  // namespace probity::ledger
