// The `cpu` backend: host memory, the thread pool, and the kernels of this folder.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "backend_impl.h"
#include "cpu/cpu_context.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu/sha256_x16.h"
#include "cpu/thread_pool.h"
#include "probity/primitives/sha256.h"

namespace probity::workloads {
namespace cpu {

bool CpuHasAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

namespace {

class CpuBackendImpl final : public internal::BackendImpl {
 public:
  // `sha_x16`: hash with cpu::Sha256x16 (AVX-512) where that helps.
  CpuBackendImpl(int threads, bool avx2, bool sha_x16)
      : pool_(threads), serial_pool_(1), sha_x16_(sha_x16) {
    ctx_ = {&pool_, avx2};
    serial_ = {&serial_pool_, avx2};
  }

  std::string_view name() const override { return "cpu"; }
  std::string Describe() const override {
    return std::string("cpu: ") + (ctx_.avx2 ? "avx2+fma" : "portable") +
           (sha_x16_ ? ", sha256 x16" : "") + ", " + std::to_string(pool_.threads()) +
           (pool_.threads() == 1 ? " thread" : " threads");
  }

  int cpu_threads() const override { return pool_.threads(); }
  bool cpu_avx2() const override { return ctx_.avx2; }

  Result<void*> Allocate(size_t bytes) override {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr) {
      return Status::ResourceExhausted("cpu backend: cannot allocate " + std::to_string(bytes) +
                                       " bytes");
    }
    std::memset(p, 0, rounded);
    return p;
  }
  void Free(void* p) override { std::free(p); }
  Status CopyFromHost(void* dst, const void* src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return Status::OK();
  }
  Status CopyToHost(void* dst, const void* src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return Status::OK();
  }
  Status CopyWithin(void* dst, const void* src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return Status::OK();
  }
  Status Zero(void* p, size_t bytes) override {
    std::memset(p, 0, bytes);
    return Status::OK();
  }
  Status Synchronize() override { return Status::OK(); }

  Status GemmF32(float* c, const float* a, const float* b, const float* bias,
                 const internal::GemmShape& g, bool accumulate) override {
    cpu::GemmF32(ctx_, c, a, b, bias, g, accumulate);
    return Status::OK();
  }
  Status GemmI8(int32_t* c, const int8_t* a, const int8_t* b,
                const internal::GemmShape& g) override {
    cpu::GemmI8(ctx_, c, a, b, g);
    return Status::OK();
  }
  Status BiasAdd(float* y, const float* x, const float* bias, int64_t rows, int64_t cols) override {
    cpu::BiasAdd(ctx_, y, x, bias, rows, cols);
    return Status::OK();
  }
  Status ColumnSums(float* out, const float* x, int64_t rows, int64_t cols) override {
    cpu::ColumnSums(ctx_, out, x, rows, cols);
    return Status::OK();
  }
  Status Relu(float* y, const float* x, int64_t n) override {
    cpu::Relu(ctx_, y, x, n);
    return Status::OK();
  }
  Status ReluBackward(float* dx, const float* dy, const float* x, int64_t n) override {
    cpu::ReluBackward(ctx_, dx, dy, x, n);
    return Status::OK();
  }
  Status Gelu(float* y, const float* x, int64_t n) override {
    cpu::Gelu(ctx_, y, x, n);
    return Status::OK();
  }
  Status GeluBackward(float* dx, const float* dy, const float* x, int64_t n) override {
    cpu::GeluBackward(ctx_, dx, dy, x, n);
    return Status::OK();
  }
  Status Softmax(float* y, const float* x, int64_t rows, int64_t cols) override {
    cpu::Softmax(ctx_, y, x, rows, cols);
    return Status::OK();
  }
  Status U8ToF32(float* y, const uint8_t* x, int64_t n, float scale, float offset) override {
    cpu::U8ToF32(ctx_, y, x, n, scale, offset);
    return Status::OK();
  }
  Status CrossEntropy(float* loss, float* dlogits, const float* logits, const int32_t* labels,
                      int64_t rows, int64_t cols) override {
    for (int64_t r = 0; r < rows; ++r) {
      if (labels[r] < 0 || labels[r] >= cols) {
        return Status::InvalidArgument("CrossEntropy: label " + std::to_string(labels[r]) +
                                       " of row " + std::to_string(r) + " is outside [0, " +
                                       std::to_string(cols) + ")");
      }
    }
    cpu::CrossEntropy(ctx_, loss, dlogits, logits, labels, rows, cols);
    return Status::OK();
  }
  Status Argmax(int32_t* out, const float* x, int64_t rows, int64_t cols) override {
    cpu::Argmax(ctx_, out, x, rows, cols);
    return Status::OK();
  }
  Status GatherRows(void* y, const void* x, std::span<const int64_t> rows,
                    size_t row_bytes) override {
    auto* dst = static_cast<uint8_t*>(y);
    const auto* src = static_cast<const uint8_t*>(x);
    pool_.ParallelFor(static_cast<int64_t>(rows.size()),
                      std::max<int64_t>(1, 65536 / static_cast<int64_t>(row_bytes)),
                      [&](int64_t begin, int64_t end) {
                        for (int64_t i = begin; i < end; ++i) {
                          std::memcpy(dst + i * row_bytes, src + rows[i] * row_bytes, row_bytes);
                        }
                      });
    return Status::OK();
  }
  Status Conv2d(float* y, const float* x, const float* w, const float* bias,
                const internal::ConvShape& g) override {
    cpu::Conv2d(ctx_, serial_, y, x, w, bias, g);
    return Status::OK();
  }
  Status Conv2dBackward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                        const float* w, const internal::ConvShape& g) override {
    cpu::Conv2dBackward(ctx_, serial_, dx, dw, dbias, dy, x, w, g);
    return Status::OK();
  }
  Status MaxPool2x2(float* y, const float* x, int64_t planes, int64_t h, int64_t w) override {
    cpu::MaxPool2x2(ctx_, y, x, planes, h, w);
    return Status::OK();
  }
  Status MaxPool2x2Backward(float* dx, const float* dy, const float* x, int64_t planes, int64_t h,
                            int64_t w) override {
    cpu::MaxPool2x2Backward(ctx_, dx, dy, x, planes, h, w);
    return Status::OK();
  }
  Status SgdMomentum(float* w, float* v, const float* g, int64_t n, const SgdParams& p) override {
    cpu::SgdMomentum(ctx_, w, v, g, n, p);
    return Status::OK();
  }
  Status Adam(float* w, float* m, float* v, const float* g, int64_t n,
              const detmath::AdamScalars& s) override {
    cpu::Adam(ctx_, w, m, v, g, n, s);
    return Status::OK();
  }
  Status HashTensors(std::span<Hash256> out, std::span<const internal::HashItem> items) override {
    auto one = [&](size_t i) {
      Sha256Hasher h;
      h.Update(items[i].header);
      h.Update(ByteView(static_cast<const uint8_t*>(items[i].data), items[i].bytes));
      out[i] = h.Final();
    };
    if (!sha_x16_) {
      pool_.Run(static_cast<int64_t>(items.size()), [&](int64_t i) { one(i); });
      return Status::OK();
    }
    // 16 messages per AVX-512 call where that keeps the lanes busy: messages sorted by length,
    // longest first, and a run of 16 goes to the lanes when at least half of the lanes' blocks
    // are real work (a lane that finished idles). Anything else (a long tensor among short ones,
    // a short tail) is hashed alone with SHA-NI, which is about half as fast per byte but never
    // idles.
    auto blocks = [&](size_t i) { return (items[i].header.size() + items[i].bytes + 8) / 64 + 1; };
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return blocks(a) > blocks(b); });
    struct Task {
      size_t begin, count;  // into `order`; count 1 is hashed alone
    };
    std::vector<Task> tasks;
    for (size_t i = 0; i < order.size();) {
      const size_t n = std::min(cpu::kSha256Lanes, order.size() - i);
      size_t work = 0;
      for (size_t l = 0; l < n; ++l) work += blocks(order[i + l]);
      if (n > 1 && 2 * work >= cpu::kSha256Lanes * blocks(order[i])) {
        tasks.push_back({i, n});
        i += n;
      } else {
        tasks.push_back({i, 1});
        i += 1;
      }
    }
    pool_.Run(static_cast<int64_t>(tasks.size()), [&](int64_t t) {
      const Task& task = tasks[t];
      if (task.count == 1) return one(order[task.begin]);
      internal::HashItem lane_items[cpu::kSha256Lanes];
      Hash256 lane_out[cpu::kSha256Lanes];
      for (size_t l = 0; l < task.count; ++l) lane_items[l] = items[order[task.begin + l]];
      cpu::Sha256x16(std::span<Hash256>(lane_out, task.count),
                     std::span<const internal::HashItem>(lane_items, task.count));
      for (size_t l = 0; l < task.count; ++l) out[order[task.begin + l]] = lane_out[l];
    });
    return Status::OK();
  }

 private:
  ThreadPool pool_;
  ThreadPool serial_pool_;
  CpuContext ctx_;
  CpuContext serial_;
  bool sha_x16_;
};

}  // namespace
}  // namespace cpu

namespace internal {

Result<std::unique_ptr<BackendImpl>> CreateCpuBackendImpl(const BackendOptions& options) {
  if (options.threads < 0 || options.threads > 1024) {
    return Status::InvalidArgument("cpu backend: threads must be in [0, 1024], got " +
                                   std::to_string(options.threads));
  }
  int threads = options.threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const bool have_avx2 = cpu::CpuHasAvx2Fma();
  bool avx2 = false;
  switch (options.cpu_kernels) {
    case BackendOptions::CpuKernels::kAuto:
      avx2 = have_avx2;
      break;
    case BackendOptions::CpuKernels::kPortable:
      avx2 = false;
      break;
    case BackendOptions::CpuKernels::kAvx2:
      if (!have_avx2) {
        return Status::Unsupported(
            "cpu backend: AVX2/FMA kernels requested, but this "
            "processor lacks AVX2 or FMA");
      }
      avx2 = true;
      break;
  }
  // The multi-buffer hash goes with the vector kernels: kPortable keeps to SHA-NI (OpenSSL), so
  // the bitwise harness checks one path against the other.
  const bool sha_x16 = avx2 && cpu::CpuHasAvx512Bw();
  return std::unique_ptr<BackendImpl>(
      std::make_unique<cpu::CpuBackendImpl>(threads, avx2, sha_x16));
}

}  // namespace internal
}  // namespace probity::workloads
