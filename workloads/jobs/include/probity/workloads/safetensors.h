// safetensors files (https://github.com/huggingface/safetensors), read and written by us.
//
//   file   := u64 header_len (little-endian) || header (header_len bytes of JSON) || data
//   header := {"NAME": {"dtype": D, "shape": [n, ...], "data_offsets": [begin, end]}, ...,
//              optionally "__metadata__": {"key": "value", ...}}, then optional spaces
// Offsets are relative to the start of `data`. The reader is strict: the JSON is parsed by our
// own parser (objects, arrays, strings with escapes, unsigned integers; no duplicate keys, no
// other values, nesting at most 3), every tensor needs exactly those three fields, its byte
// range must equal numel × dtype size, and the ranges must tile `data` exactly (no overlap, no
// gap, nothing after). dtypes F32, I32, I8, U8, U32, I64 are read; other safetensors dtypes
// (F16, BF16, F64, ...) are kUnsupported; anything malformed is kCorruption.
//
// The writer is canonical: tensors in bytewise name order, data packed in that order, compact
// JSON with keys in the order above and no metadata, the header padded with spaces to a
// multiple of 8 bytes. So a set of tensors has one file encoding, and files written by other
// tools (PyTorch's safetensors) are read as long as they use the dtypes above.
#pragma once

#include <map>
#include <string>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads {

// Tensors by name, in bytewise name order (std::string compares as unsigned char).
using TensorMap = std::map<std::string, Tensor>;

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 16u << 20;

// kInvalidArgument for an empty name or one longer than 1024 bytes.
Result<Bytes> EncodeSafetensors(const TensorMap& tensors);
Result<TensorMap> DecodeSafetensors(ByteView file);

// Writes atomically (a temporary file renamed into place); kIOError on failure.
Status WriteSafetensorsFile(const std::string& path, const TensorMap& tensors);
// kNotFound for a missing file; decoding errors name the path.
Result<TensorMap> ReadSafetensorsFile(const std::string& path);

}  // namespace probity::workloads
