// State proofs from a node, checked by light clients: ledger::VerifyStateProof against the
// fixed root of fixtures' state tree. Input: a length-prefixed key, a byte (odd: the key is
// claimed present), a length-prefixed value, then the proof's encoding.
#include <cstdlib>

#include "fixtures.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::State();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size), key, value;
  if (!fuzz::TakePart(in, &key) || in.empty()) return 0;
  const bool present = in[0] % 2 == 1;
  in = in.subspan(1);
  if (!fuzz::TakePart(in, &value)) return 0;
  ledger::StateProof proof{ToBytes(in)};
  std::optional<Bytes> claimed;
  if (present) claimed = ToBytes(value);
  const Status s = ledger::VerifyStateProof(fuzz::State().root, key, claimed, proof);
  if (!s.ok()) return 0;
  // Only what the tree holds can be proven: the fixture's own entries.
  for (const auto& e : fuzz::State().proofs) {
    if (ToBytes(key) == e.key) {
      if (claimed != e.value) std::abort();
      return 0;
    }
  }
  // A key the fixture never asked about: it may be proven absent, never present.
  if (present) std::abort();
  return 0;
}
