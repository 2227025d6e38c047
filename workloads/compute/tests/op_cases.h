// The bitwise harness's catalogue: every op of backend.h on many shapes (including 1, 7, 33,
// 1000 and sizes that are not multiples of any tile), with deterministic pseudo-random inputs
// (some cases sprinkled with -0.0, subnormals, infinities and NaNs), plus for each case a
// reference: the op's definition from backend.h computed by plain host loops in the documented
// order. backend_ops_test.cc runs the catalogue on every cpu configuration (AVX2 and portable
// kernels, 1 and several threads) and backend_ops_gpu_test.cc on cuda; every run must produce
// the same bytes as the reference.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads::testing {

struct OpCase {
  std::string family;  // the op, e.g. "GemmF32"
  std::string name;    // the op and its shape, e.g. "GemmF32 m=7 n=33 k=1000 tA"
  // Uploads the inputs to `backend`, runs the op, downloads every output.
  std::function<Result<std::vector<Tensor>>(Backend& backend)> run;
  // The definition evaluated on the host.
  std::function<std::vector<Tensor>()> reference;
};

// Every case, in a fixed order.
std::vector<OpCase> AllOpCases();
// The families present in AllOpCases(), in order.
std::vector<std::string> OpFamilies();

// Byte equality of two output lists, with a readable description of the first difference
// (tensor index, element index, both values) in *why.
bool SameBytes(const std::vector<Tensor>& a, const std::vector<Tensor>& b, std::string* why);

}  // namespace probity::workloads::testing
