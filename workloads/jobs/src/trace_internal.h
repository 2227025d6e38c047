// Hash constructions shared by the trace encoder and the job runners (workloads.h states them).
// Internal to probity_workloads.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads::internal {

// h_{i+1} of an infer-classifier segment.
Hash256 InferOutputHash(const Hash256& input, uint64_t index, const Hash256& labels_hash,
                        const Hash256& logits_hash);

// kInvalidArgument unless u8 [count, 28, 28].
Status CheckImages(const Tensor& images);
// images[begin, end) as a new tensor. REQUIRES: CheckImages, begin < end <= count.
Result<Tensor> ImageSlice(const Tensor& images, uint64_t begin, uint64_t end);
// MerkleLeafHash(TensorHash(slice_i)) for every slice.
Result<std::vector<Hash256>> ImageSliceLeaves(const Tensor& images, uint32_t slice_size);

}  // namespace probity::workloads::internal
