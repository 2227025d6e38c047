// How the cpu GEMMs cut C into tasks for the thread pool. Any cut gives the same bits (each
// task owns whole outputs); this only balances the work.
#pragma once

#include <algorithm>
#include <cstdint>

namespace probity::workloads::cpu {

struct GemmTiling {
  int64_t mc = 0, nc = 0;            // rows and columns of C per task
  int64_t mblocks = 0, nblocks = 0;  // tasks = mblocks * nblocks
  int64_t tasks() const { return mblocks * nblocks; }
};

inline int64_t RoundUp(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// mr, nr: the micro-tile; max_mc, max_nc: cache-friendly upper bounds. With several threads,
// shrinks the task size until there are about three tasks per thread (so that uneven tasks
// still balance), but not below 4 micro-tiles per task.
inline GemmTiling ChooseGemmTiling(int64_t m, int64_t n, int64_t k, int threads, int64_t mr,
                                   int64_t nr, int64_t max_mc, int64_t max_nc) {
  GemmTiling t;
  t.mc = std::min(max_mc, RoundUp(std::max<int64_t>(m, 1), mr));
  t.nc = std::min(max_nc, RoundUp(std::max<int64_t>(n, 1), nr));
  auto count = [&] {
    t.mblocks = (m + t.mc - 1) / t.mc;
    t.nblocks = (n + t.nc - 1) / t.nc;
  };
  count();
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (threads <= 1 || flops < 2e5) return t;
  const int64_t want = 3 * static_cast<int64_t>(threads);
  while (t.tasks() < want) {
    if (t.nc > 4 * nr) {
      t.nc = RoundUp(t.nc / 2, nr);
    } else if (t.mc > 4 * mr) {
      t.mc = RoundUp(t.mc / 2, mr);
    } else if (t.nc > 2 * nr && t.nc >= t.mc) {
      t.nc = RoundUp(t.nc / 2, nr);
    } else if (t.mc > 2 * mr) {
      t.mc = RoundUp(t.mc / 2, mr);
    } else {
      break;
    }
    count();
  }
  return t;
}

}  // namespace probity::workloads::cpu
