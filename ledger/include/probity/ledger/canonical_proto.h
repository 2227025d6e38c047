// Canonical protobuf encodings: what the ledger hashes and signs.
//
// Everything the chain hashes (headers, results, genesis params) is serialised with
// protobuf's deterministic mode, and everything it receives from outside in a signed or
// hashed position is required to be in that form: fields in number order, each at most once,
// no default values written out, no unknown fields. Two byte strings that parse to the same
// message can then never both be accepted.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "probity/primitives/bytes.h"

namespace probity::ledger {

// Deterministic serialisation. REQUIRES: `m` is initialised (proto3 messages always are).
std::string SerializeCanonical(const google::protobuf::Message& m);

// True iff `bytes` is exactly the canonical serialisation of `m`, which was parsed from it,
// and `m` holds no unknown fields (nested messages included).
bool IsCanonicalEncoding(const google::protobuf::Message& m, ByteView bytes);

// Parses `bytes` into `m` and checks IsCanonicalEncoding.
bool ParseCanonical(ByteView bytes, google::protobuf::Message* m);

}  // namespace probity::ledger
