// Model files from buyers: workloads::DecodeSafetensors, then what a provider does with a
// model (the architecture it forms, its id). Input: the file's bytes.
#include <cstdlib>

#include "probity/workloads/model.h"
#include "probity/workloads/safetensors.h"

using namespace probity;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = workloads::DecodeSafetensors(ByteView(data, size));
  if (!m.ok()) return 0;
  // What decodes encodes, and decodes back to the same tensors.
  auto again = workloads::EncodeSafetensors(*m);
  if (!again.ok()) std::abort();
  auto back = workloads::DecodeSafetensors(*again);
  if (!back.ok() || back->size() != m->size()) std::abort();
  for (const auto& [name, t] : *m) {
    auto it = back->find(name);
    if (it == back->end() || workloads::TensorHash(it->second) != workloads::TensorHash(t)) {
      std::abort();
    }
  }
  (void)workloads::ArchitectureOf(*m);
  (void)workloads::ModelId(*m);
  return 0;
}
