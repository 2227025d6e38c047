#include "probity/ledger/thread_pool.h"

#include <algorithm>

namespace probity::ledger {

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max<size_t>(1, std::thread::hardware_concurrency());
  for (size_t i = 1; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunks(std::unique_lock<std::mutex>& l) {
  while (next_ < n_) {
    size_t begin = next_;
    size_t end = std::min(n_, begin + chunk_);
    next_ = end;
    ++active_;
    const auto* fn = fn_;
    l.unlock();
    for (size_t i = begin; i < end; ++i) (*fn)(i);
    l.lock();
    --active_;
  }
  if (active_ == 0) done_cv_.notify_all();
}

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    RunChunks(l);
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (workers_.empty() || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::lock_guard<std::mutex> call(call_mu_);
  std::unique_lock<std::mutex> l(mu_);
  fn_ = &fn;
  n_ = n;
  next_ = 0;
  // Chunks small enough to balance uneven work, large enough to keep the lock cold.
  chunk_ = std::max<size_t>(1, n / (size() * 8));
  ++generation_;
  work_cv_.notify_all();
  RunChunks(l);
  done_cv_.wait(l, [&] { return next_ >= n_ && active_ == 0; });
  fn_ = nullptr;
}

}  // namespace probity::ledger
