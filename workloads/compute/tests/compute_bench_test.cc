// RunComputeBench on the cpu (quick): the records `probity bench workloads` prints exist,
// carry their fields, and hold plausible numbers. On cuda (label gpu, in the gpu test binary)
// the same with the cuBLAS baselines.
#include "probity/workloads/compute_bench.h"

#include <doctest/doctest.h>

#include <map>

using namespace probity;
using namespace probity::workloads;

namespace {

double Field(const BenchRecord& r, const std::string& key) {
  for (const auto& [k, v] : r.numbers) {
    if (k == key) return v;
  }
  return -1;
}

}  // namespace

TEST_CASE("compute bench on cpu: peak, ordered GEMM against it, int8 GEMM") {
  auto be = CreateBackend("cpu", {.threads = 2}).value();
  std::vector<BenchRecord> records;
  Status s = RunComputeBench(*be, {.min_seconds_per_measurement = 0.01, .quick = true},
                             [&](const BenchRecord& r) { records.push_back(r); });
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  std::map<std::string, int> count;
  for (const BenchRecord& r : records) {
    ++count[r.name];
    MESSAGE(r.name << " = " << r.value << " " << r.unit << " threads=" << Field(r, "threads")
                   << " ratio=" << Field(r, "ratio"));
    CHECK(r.value > 0);
    if (r.name == "gemm_fp32_ordered_gflops") {
      CHECK(Field(r, "peak_gflops") > 0);
      // No upper bound: on a machine shared with other processes the peak and the GEMM see
      // different shares of the cores, so their ratio is only meaningful on an idle machine.
      CHECK(Field(r, "ratio") > 0);
      CHECK(Field(r, "m") > 0);
    }
  }
  CHECK(count["cpu_fma_peak_gflops"] == 2);  // 2 threads and 1 thread
  CHECK(count["gemm_fp32_ordered_gflops"] == 4);
  CHECK(count["gemm_i8_gops"] == 1);
}
