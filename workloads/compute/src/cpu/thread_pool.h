// A fixed pool of worker threads for the cpu backend's ops.
//
// Work is split into tasks that each produce disjoint outputs, so which thread runs a task
// (and how many threads there are) never changes a result: it only changes the speed. The
// calling thread works too; a pool of 1 thread runs everything inline on the caller, which is
// the single-core re-execution configuration.
//
// Thread-safety: Run and ParallelFor may be called by one thread at a time (the backend's
// user); the pool's own threads never call them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace probity::workloads::cpu {

class ThreadPool {
 public:
  // REQUIRES: threads >= 1 (the caller plus threads - 1 workers).
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Calls task(i) once for every i in [0, tasks), spread over the threads; returns when all
  // have finished.
  void Run(int64_t tasks, const std::function<void(int64_t)>& task);

  // Splits [0, n) into at most threads() contiguous ranges of at least `grain` elements
  // (fewer when n is small) and calls fn(begin, end) for each.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void WorkerLoop();
  void Drain();

  const int threads_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;  // guarded by mu_; bumped once per Run
  bool stop_ = false;        // guarded by mu_
  int pending_workers_ = 0;  // guarded by mu_: workers yet to finish the current Run

  // The current job, published under mu_ before generation_ is bumped.
  const std::function<void(int64_t)>* task_ = nullptr;
  int64_t task_count_ = 0;
  std::atomic<int64_t> next_{0};
};

}  // namespace probity::workloads::cpu
