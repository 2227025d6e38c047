// Trace openings, from a provider (to a verifier) or posted on chain (to the referee):
// workloads::DecodeOpening, VerifyOpening against the fixed commitment of fixtures' inference
// job, and the referee's whole judgement (verifier::JudgeSegment: decode, verify, re-execute).
// Input: the opening bytes.
#include <cstdlib>

#include "fixtures.h"
#include "probity/verifier/referee.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::InferJob();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteView in(data, size);
  const workloads::JobCommitment& c = fuzz::InferJob().run->commitment();
  auto o = workloads::DecodeOpening(in);
  if (!o.ok()) return 0;
  // One encoding per opening: what decodes re-encodes to the same bytes.
  if (workloads::EncodeOpening(*o) != ToBytes(in)) std::abort();
  const bool valid = workloads::VerifyOpening(*o, c).ok();
  auto j = verifier::JudgeSegment(in, c, o->record.index, fuzz::Cpu(),
                                  workloads::DataCatalog::Default());
  // The referee judges exactly the valid openings, and an honest record is the run's own.
  if (j.ok() != valid) std::abort();
  if (j.ok() && j->honest && o->record != fuzz::InferJob().run->records()[o->record.index]) {
    std::abort();
  }
  return 0;
}
