// Data set files (IDX, already decompressed): workloads::ParseIdx, and a data set made of an
// images array and a labels array split from the input. Input: a length-prefixed images file,
// then the labels file.
#include <cstdlib>

#include "framing.h"
#include "probity/workloads/dataset.h"

using namespace probity;

namespace {

void CheckShape(const workloads::IdxArray& a) {
  unsigned __int128 n = 1;
  for (uint32_t d : a.dims) n *= d;
  if (a.dims.empty() || n != a.data.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size), images;
  auto whole = workloads::ParseIdx(in);
  if (whole.ok()) CheckShape(*whole);
  if (!fuzz::TakePart(in, &images)) return 0;
  auto i = workloads::ParseIdx(images);
  auto l = workloads::ParseIdx(in);
  if (!i.ok() || !l.ok()) return 0;
  CheckShape(*i);
  CheckShape(*l);
  auto d = workloads::MakeDataset(std::move(*i), std::move(*l));
  if (d.ok() && (d->images.size() != uint64_t{d->count} * d->rows * d->cols ||
                 d->labels.size() != d->count)) {
    std::abort();
  }
  return 0;
}
