// Job specs: the text form people write (workloads::ParseJobSpec) and the canonical encoding
// that orders hash and openings carry (DecodeJobSpec). Input: a selector byte (even: text,
// odd: canonical bytes), then the spec.
#include <cstdlib>
#include <string_view>

#include "probity/workloads/job_spec.h"

using namespace probity;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto spec = workloads::ParseJobSpec(
        std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
    if (!spec.ok() || !workloads::ValidateJobSpec(*spec).ok()) return 0;
    // A valid spec survives its canonical encoding and its text form unchanged.
    auto decoded = workloads::DecodeJobSpec(workloads::EncodeJobSpec(*spec));
    if (!decoded.ok() || !(*decoded == *spec)) std::abort();
    auto reparsed = workloads::ParseJobSpec(workloads::FormatJobSpec(*spec));
    if (!reparsed.ok() || !(*reparsed == *spec)) std::abort();
    return 0;
  }
  auto spec = workloads::DecodeJobSpec(in);
  if (!spec.ok()) return 0;
  // One encoding per spec: what decodes re-encodes to the same bytes, and is valid.
  if (!workloads::ValidateJobSpec(*spec).ok()) std::abort();
  if (workloads::EncodeJobSpec(*spec) != ToBytes(in)) std::abort();
  (void)workloads::JobInputHash(*spec);
  return 0;
}
