// A fixed pool of worker threads for data-parallel loops (signature checks of a block).
//
// ParallelFor splits [0, n) into contiguous chunks; the calling thread works too, so a pool
// of size 1 runs everything inline. Thread-safety: ParallelFor may be called from several
// threads; calls are served one at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace probity::ledger {

class ThreadPool {
 public:
  // `threads` counts the caller: 0 = std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Calls fn(i) for every i in [0, n), spread over the pool; returns when all are done.
  // `fn` must not throw and must not call ParallelFor on the same pool.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

 private:
  void WorkerLoop();
  // Claims and runs chunks until none are left. REQUIRES: `l` holds mu_.
  void RunChunks(std::unique_lock<std::mutex>& l);

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // one ParallelFor at a time
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0, next_ = 0, chunk_ = 1, active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace probity::ledger
