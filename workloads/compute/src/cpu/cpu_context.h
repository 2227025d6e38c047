// What every cpu kernel receives: the thread pool to spread independent outputs over, and
// whether to use the AVX2/FMA variants (chosen once per backend; both variants compute the
// same bits, the portable one is the definition the AVX2 one is tested against).
#pragma once

#include "cpu/thread_pool.h"

namespace probity::workloads::cpu {

struct CpuContext {
  ThreadPool* pool = nullptr;
  bool avx2 = false;
};

// True when the processor (and operating system) support AVX2 and FMA.
bool CpuHasAvx2Fma();

}  // namespace probity::workloads::cpu
