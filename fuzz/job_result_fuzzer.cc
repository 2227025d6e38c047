// Result files a buyer downloads from a provider: workloads::VerifyJobResult against the
// committed output hash of fixtures' inference job. Input: the file's bytes.
#include <cstdlib>

#include "fixtures.h"
#include "probity/workloads/job_result.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::InferJob();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& job = fuzz::InferJob();
  auto r =
      workloads::VerifyJobResult(job.spec, job.run->commitment().output_hash, ByteView(data, size));
  // Only the run's own labels and logits can match the committed output hash.
  if (r.ok() && (workloads::TensorHash(r->labels) != workloads::TensorHash(job.run->labels()) ||
                 workloads::TensorHash(r->logits) != workloads::TensorHash(job.run->logits()))) {
    std::abort();
  }
  return 0;
}
