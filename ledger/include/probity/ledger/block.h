// Blocks: building, hashing, signing and checking them (proto/probity/types/v1/block.proto).
//
//   block hash     = tagged_hash("probity/block", header bytes); the proposer signs it (BIP-340)
//   tx_root        = RFC 6962 Merkle root over the tx ids (leaf data: the 32-byte id)
//   results_root   = RFC 6962 Merkle root over ResultLeaf(result) of every transaction
//   block_events_hash = tagged_hash("probity/block-events", EventsEncoding(begin) ||
//                                    EventsEncoding(end))
// ResultLeaf is a canonical byte encoding (encoding.h grammar) of what execution decided:
//   u32 code || bytes codespace || u64 fee || events
//   events := u32 count || (bytes type || u32 n || (bytes key || bytes value || u8 index)*)*
// The human-readable log is left out on purpose: rewording a reason must not fork the chain.
//
// Thread-safety: all functions are pure.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/types/v1/block.pb.h"
#include "probity/types/v1/result.pb.h"

namespace probity::ledger {

inline constexpr std::string_view kBlockTag = "probity/block";

Hash256 BlockHash(ByteView header_bytes);
Hash256 TxRoot(std::span<const Hash256> tx_ids);
Bytes ResultLeaf(const types::v1::TxResult& result);
Hash256 ResultsRoot(std::span<const types::v1::TxResult> results);
Hash256 BlockEventsHash(std::span<const types::v1::Event> begin,
                        std::span<const types::v1::Event> end);

// A block as stored and served, with its parsed header.
struct DecodedBlock {
  types::v1::BlockHeader header;
  Bytes header_bytes;
  SchnorrSig signature{};
  std::vector<Bytes> txs;
  Hash256 hash{};
};

// Serialises header and signs it; returns the serialised types.v1.Block.
Result<Bytes> SignBlock(const types::v1::BlockHeader& header, std::span<const Bytes> txs,
                        const SecretKey& proposer);

// Parses a serialised Block and checks what it says about itself: canonical encodings,
// field sizes, the proposer's signature by `proposer`, the chain id, tx_count and tx_root.
// kInvalidArgument / kUnauthenticated / kCorruption with the reason.
Result<DecodedBlock> DecodeAndVerifyBlock(ByteView block_bytes, const XOnlyPubKey& proposer,
                                          const std::string& chain_id);

// Checks a signed header alone (for light clients): canonical, signed by `proposer`, for
// `chain_id`. Returns the parsed header.
Result<types::v1::BlockHeader> VerifySignedHeader(ByteView header_bytes, ByteView signature,
                                                  const XOnlyPubKey& proposer,
                                                  const std::string& chain_id);

// Copies a 32-byte protobuf field into a Hash256; kCorruption when it is not 32 bytes.
Result<Hash256> ToHash256(const std::string& field, const char* what);

}  // namespace probity::ledger
