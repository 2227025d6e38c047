// Backend: argument checking shared by every backend (so that a bad call fails the same way
// everywhere, before anything runs), then dispatch to the BackendImpl.
#include "probity/workloads/backend.h"

#include <cmath>
#include <utility>
#include <vector>

#include "backend_impl.h"

namespace probity::workloads {

using internal::BackendImpl;

// --- DeviceTensor ---------------------------------------------------------------------------

void DeviceTensor::Release() {
  if (impl_ != nullptr) impl_->Free(data_);
  impl_ = nullptr;
  data_ = nullptr;
  shape_.clear();
  numel_ = 0;
}

DeviceTensor::DeviceTensor(DeviceTensor&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      dtype_(other.dtype_),
      shape_(std::move(other.shape_)),
      numel_(std::exchange(other.numel_, 0)) {}

DeviceTensor& DeviceTensor::operator=(DeviceTensor&& other) noexcept {
  if (this != &other) {
    Release();
    impl_ = std::exchange(other.impl_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    dtype_ = other.dtype_;
    shape_ = std::move(other.shape_);
    numel_ = std::exchange(other.numel_, 0);
  }
  return *this;
}

DeviceTensor::~DeviceTensor() { Release(); }

Status DeviceTensor::Reshape(Shape shape) {
  if (empty()) return Status::InvalidArgument("cannot reshape an empty DeviceTensor");
  PROBITY_ASSIGN_OR_RETURN(int64_t n, ShapeElements(shape));
  if (n != numel_) {
    return Status::InvalidArgument("cannot reshape " + ShapeString(shape_) + " to " +
                                   ShapeString(shape) + ": element counts differ");
  }
  shape_ = std::move(shape);
  return Status::OK();
}

// --- Factory --------------------------------------------------------------------------------

Result<std::unique_ptr<Backend>> CreateBackend(std::string_view name,
                                               const BackendOptions& options) {
  Result<std::unique_ptr<BackendImpl>> impl = Status::InvalidArgument(
      "unknown backend \"" + std::string(name) + "\" (expected \"cpu\" or \"cuda\")");
  if (name == "cpu") {
    impl = internal::CreateCpuBackendImpl(options);
  } else if (name == "cuda") {
    impl = internal::CreateCudaBackendImpl(options);
  }
  if (!impl.ok()) return impl.status();
  return std::make_unique<Backend>(std::move(impl).value());
}

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> names = {"cpu"};
  if (internal::CudaAvailability().ok()) names.push_back("cuda");
  return names;
}

std::vector<CudaDeviceInfo> ListCudaDevices() { return internal::ListCudaDevicesImpl(); }

Backend::Backend(std::unique_ptr<BackendImpl> impl) : impl_(std::move(impl)) {}
Backend::~Backend() = default;

std::string_view Backend::name() const { return impl_->name(); }
std::string Backend::Describe() const { return impl_->Describe(); }

float PowByMultiplication(float beta, uint64_t t) {
  float result = 1.0f;
  for (int bit = 63; bit >= 0; --bit) {
    result = result * result;
    if ((t >> bit) & 1u) result = result * beta;
  }
  return result;
}

// --- Argument checks ------------------------------------------------------------------------

namespace {

std::string TensorDesc(const DeviceTensor& t) {
  return std::string(DTypeName(t.dtype())) + ShapeString(t.shape());
}

Status Bad(std::string_view op, const std::string& what) {
  return Status::InvalidArgument(std::string(op) + ": " + what);
}

Status WantDType(std::string_view op, std::string_view what, const DeviceTensor& t, DType d) {
  if (t.dtype() != d) {
    return Bad(
        op, std::string(what) + " must be " + std::string(DTypeName(d)) + ", got " + TensorDesc(t));
  }
  return Status::OK();
}

Status WantShape(std::string_view op, std::string_view what, const DeviceTensor& t,
                 const Shape& shape) {
  if (t.shape() != shape) {
    return Bad(op, std::string(what) + " must have shape " + ShapeString(shape) + ", got " +
                       ShapeString(t.shape()));
  }
  return Status::OK();
}

Status WantRank(std::string_view op, std::string_view what, const DeviceTensor& t, int rank) {
  if (static_cast<int>(t.shape().size()) != rank) {
    return Bad(op, std::string(what) + " must have rank " + std::to_string(rank) + ", got " +
                       ShapeString(t.shape()));
  }
  return Status::OK();
}

Status WantMinRank(std::string_view op, std::string_view what, const DeviceTensor& t, int rank) {
  if (static_cast<int>(t.shape().size()) < rank) {
    return Bad(op, std::string(what) + " must have rank >= " + std::to_string(rank) + ", got " +
                       ShapeString(t.shape()));
  }
  return Status::OK();
}

Status WantDistinct(std::string_view op, const DeviceTensor* out, std::string_view out_name,
                    const DeviceTensor* in, std::string_view in_name) {
  if (out != nullptr && in != nullptr && out->raw() == in->raw()) {
    return Bad(op,
               std::string(out_name) + " must not be the same tensor as " + std::string(in_name));
  }
  return Status::OK();
}

Status WantFinite(std::string_view op, std::string_view what, float v) {
  if (!std::isfinite(v)) return Bad(op, std::string(what) + " must be finite");
  return Status::OK();
}

int64_t LastDim(const DeviceTensor& t) { return t.shape().empty() ? 1 : t.shape().back(); }
int64_t Rows(const DeviceTensor& t) {
  const int64_t cols = LastDim(t);
  return cols == 0 ? 0 : t.numel() / cols;
}
float* F32(DeviceTensor* t) { return t ? static_cast<float*>(t->raw()) : nullptr; }
const float* F32(const DeviceTensor& t) { return static_cast<const float*>(t.raw()); }
const float* F32(const DeviceTensor* t) {
  return t ? static_cast<const float*>(t->raw()) : nullptr;
}

}  // namespace

Status Backend::Check(const DeviceTensor& t, std::string_view op, std::string_view what) const {
  if (t.empty()) return Bad(op, std::string(what) + " is an empty DeviceTensor");
  if (t.impl_ != impl_.get()) {
    return Bad(op, std::string(what) + " belongs to another backend");
  }
  return Status::OK();
}

// --- Memory ---------------------------------------------------------------------------------

Result<DeviceTensor> Backend::Allocate(DType dtype, Shape shape) {
  if (!IsValidDType(static_cast<uint8_t>(dtype))) return Bad("Allocate", "bad dtype");
  PROBITY_ASSIGN_OR_RETURN(int64_t n, ShapeElements(shape));
  size_t bytes = static_cast<size_t>(n) * DTypeSize(dtype);
  PROBITY_ASSIGN_OR_RETURN(void* p, impl_->Allocate(bytes == 0 ? 64 : bytes));
  return DeviceTensor(impl_.get(), p, dtype, std::move(shape), n);
}

Result<DeviceTensor> Backend::Upload(const Tensor& src) {
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor t, Allocate(src.dtype(), src.shape()));
  PROBITY_RETURN_IF_ERROR(Upload(&t, src));
  return t;
}

Status Backend::Upload(DeviceTensor* dst, const Tensor& src) {
  PROBITY_RETURN_IF_ERROR(Check(*dst, "Upload", "destination"));
  if (dst->dtype() != src.dtype() || dst->shape() != src.shape()) {
    return Bad("Upload", "destination " + TensorDesc(*dst) + " does not match the source " +
                             std::string(DTypeName(src.dtype())) + ShapeString(src.shape()));
  }
  if (src.byte_size() == 0) return Status::OK();
  return impl_->CopyFromHost(dst->raw(), src.bytes().data(), src.byte_size());
}

Result<Tensor> Backend::Download(const DeviceTensor& src) {
  PROBITY_RETURN_IF_ERROR(Check(src, "Download", "source"));
  PROBITY_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(src.dtype(), src.shape()));
  if (t.byte_size() > 0) {
    PROBITY_RETURN_IF_ERROR(impl_->CopyToHost(t.mutable_bytes().data(), src.raw(), t.byte_size()));
  } else {
    PROBITY_RETURN_IF_ERROR(impl_->Synchronize());
  }
  return t;
}

Status Backend::Copy(DeviceTensor* dst, const DeviceTensor& src) {
  PROBITY_RETURN_IF_ERROR(Check(*dst, "Copy", "destination"));
  PROBITY_RETURN_IF_ERROR(Check(src, "Copy", "source"));
  if (dst->dtype() != src.dtype() || dst->shape() != src.shape()) {
    return Bad("Copy",
               "destination " + TensorDesc(*dst) + " does not match the source " + TensorDesc(src));
  }
  if (dst->raw() == src.raw() || src.byte_size() == 0) return Status::OK();
  return impl_->CopyWithin(dst->raw(), src.raw(), src.byte_size());
}

Status Backend::SetZero(DeviceTensor* t) {
  PROBITY_RETURN_IF_ERROR(Check(*t, "SetZero", "tensor"));
  if (t->byte_size() == 0) return Status::OK();
  return impl_->Zero(t->raw(), t->byte_size());
}

Status Backend::Synchronize() { return impl_->Synchronize(); }

// --- Linear algebra -------------------------------------------------------------------------

static Status CheckGemm(std::string_view op, const DeviceTensor& c, const DeviceTensor& a,
                        const DeviceTensor& b, const GemmOptions& o, DType in, DType out,
                        internal::GemmShape* g) {
  PROBITY_RETURN_IF_ERROR(WantDType(op, "A", a, in));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "B", b, in));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "C", c, out));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "A", a, 2));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "B", b, 2));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "C", c, 2));
  g->trans_a = o.transpose_a;
  g->trans_b = o.transpose_b;
  g->m = o.transpose_a ? a.shape()[1] : a.shape()[0];
  g->k = o.transpose_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = o.transpose_b ? b.shape()[1] : b.shape()[0];
  g->n = o.transpose_b ? b.shape()[0] : b.shape()[1];
  if (kb != g->k) {
    return Bad(op, "inner dimensions differ: op(A) is [" + std::to_string(g->m) + ", " +
                       std::to_string(g->k) + "], op(B) is [" + std::to_string(kb) + ", " +
                       std::to_string(g->n) + "] (A " + ShapeString(a.shape()) +
                       (o.transpose_a ? " transposed" : "") + ", B " + ShapeString(b.shape()) +
                       (o.transpose_b ? " transposed" : "") + ")");
  }
  PROBITY_RETURN_IF_ERROR(WantShape(op, "C", c, {g->m, g->n}));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, &c, "C", &a, "A"));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, &c, "C", &b, "B"));
  return Status::OK();
}

Status Backend::GemmF32(DeviceTensor* c, const DeviceTensor& a, const DeviceTensor& b,
                        const GemmOptions& options, const DeviceTensor* bias) {
  constexpr std::string_view op = "GemmF32";
  PROBITY_RETURN_IF_ERROR(Check(*c, op, "C"));
  PROBITY_RETURN_IF_ERROR(Check(a, op, "A"));
  PROBITY_RETURN_IF_ERROR(Check(b, op, "B"));
  internal::GemmShape g;
  PROBITY_RETURN_IF_ERROR(CheckGemm(op, *c, a, b, options, DType::kF32, DType::kF32, &g));
  if (bias != nullptr) {
    PROBITY_RETURN_IF_ERROR(Check(*bias, op, "bias"));
    if (options.accumulate) return Bad(op, "bias and accumulate are mutually exclusive");
    PROBITY_RETURN_IF_ERROR(WantDType(op, "bias", *bias, DType::kF32));
    PROBITY_RETURN_IF_ERROR(WantShape(op, "bias", *bias, {g.n}));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, c, "C", bias, "bias"));
  }
  if (c->numel() == 0) return Status::OK();
  return impl_->GemmF32(F32(c), F32(a), F32(b), F32(bias), g, options.accumulate);
}

Status Backend::GemmI8(DeviceTensor* c, const DeviceTensor& a, const DeviceTensor& b,
                       const GemmOptions& options) {
  constexpr std::string_view op = "GemmI8";
  PROBITY_RETURN_IF_ERROR(Check(*c, op, "C"));
  PROBITY_RETURN_IF_ERROR(Check(a, op, "A"));
  PROBITY_RETURN_IF_ERROR(Check(b, op, "B"));
  if (options.accumulate) return Bad(op, "accumulate is only defined for GemmF32");
  internal::GemmShape g;
  PROBITY_RETURN_IF_ERROR(CheckGemm(op, *c, a, b, options, DType::kI8, DType::kI32, &g));
  if (g.k > 131071) {
    return Bad(op, "K = " + std::to_string(g.k) +
                       " exceeds 131071, beyond which int32 sums could overflow");
  }
  if (c->numel() == 0) return Status::OK();
  return impl_->GemmI8(static_cast<int32_t*>(c->raw()), static_cast<const int8_t*>(a.raw()),
                       static_cast<const int8_t*>(b.raw()), g);
}

// --- Elementwise and row ops ----------------------------------------------------------------

// y and x: f32, same shape.
static Status CheckUnary(std::string_view op, const DeviceTensor& y, const DeviceTensor& x) {
  PROBITY_RETURN_IF_ERROR(WantDType(op, "x", x, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "y", y, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "y", y, x.shape()));
  return Status::OK();
}

Status Backend::BiasAdd(DeviceTensor* y, const DeviceTensor& x, const DeviceTensor& bias) {
  constexpr std::string_view op = "BiasAdd";
  PROBITY_RETURN_IF_ERROR(Check(*y, op, "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(Check(bias, op, "bias"));
  PROBITY_RETURN_IF_ERROR(CheckUnary(op, *y, x));
  PROBITY_RETURN_IF_ERROR(WantMinRank(op, "x", x, 1));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "bias", bias, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "bias", bias, {LastDim(x)}));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", &bias, "bias"));
  if (y->numel() == 0) return Status::OK();
  return impl_->BiasAdd(F32(y), F32(x), F32(bias), Rows(x), LastDim(x));
}

Status Backend::ColumnSums(DeviceTensor* out, const DeviceTensor& x) {
  constexpr std::string_view op = "ColumnSums";
  PROBITY_RETURN_IF_ERROR(Check(*out, op, "out"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "x", x, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "out", *out, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantMinRank(op, "x", x, 1));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "out", *out, {LastDim(x)}));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, out, "out", &x, "x"));
  if (out->numel() == 0) return Status::OK();
  return impl_->ColumnSums(F32(out), F32(x), Rows(x), LastDim(x));
}

Status Backend::Relu(DeviceTensor* y, const DeviceTensor& x) {
  PROBITY_RETURN_IF_ERROR(Check(*y, "Relu", "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, "Relu", "x"));
  PROBITY_RETURN_IF_ERROR(CheckUnary("Relu", *y, x));
  if (y->numel() == 0) return Status::OK();
  return impl_->Relu(F32(y), F32(x), x.numel());
}

Status Backend::ReluBackward(DeviceTensor* dx, const DeviceTensor& dy, const DeviceTensor& x) {
  constexpr std::string_view op = "ReluBackward";
  PROBITY_RETURN_IF_ERROR(Check(*dx, op, "dx"));
  PROBITY_RETURN_IF_ERROR(Check(dy, op, "dy"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(CheckUnary(op, *dx, x));
  PROBITY_RETURN_IF_ERROR(CheckUnary(op, dy, x));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, dx, "dx", &x, "x"));
  if (dx->numel() == 0) return Status::OK();
  return impl_->ReluBackward(F32(dx), F32(dy), F32(x), x.numel());
}

Status Backend::Gelu(DeviceTensor* y, const DeviceTensor& x) {
  PROBITY_RETURN_IF_ERROR(Check(*y, "Gelu", "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, "Gelu", "x"));
  PROBITY_RETURN_IF_ERROR(CheckUnary("Gelu", *y, x));
  if (y->numel() == 0) return Status::OK();
  return impl_->Gelu(F32(y), F32(x), x.numel());
}

Status Backend::GeluBackward(DeviceTensor* dx, const DeviceTensor& dy, const DeviceTensor& x) {
  constexpr std::string_view op = "GeluBackward";
  PROBITY_RETURN_IF_ERROR(Check(*dx, op, "dx"));
  PROBITY_RETURN_IF_ERROR(Check(dy, op, "dy"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(CheckUnary(op, *dx, x));
  PROBITY_RETURN_IF_ERROR(CheckUnary(op, dy, x));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, dx, "dx", &x, "x"));
  if (dx->numel() == 0) return Status::OK();
  return impl_->GeluBackward(F32(dx), F32(dy), F32(x), x.numel());
}

Status Backend::Softmax(DeviceTensor* y, const DeviceTensor& x) {
  PROBITY_RETURN_IF_ERROR(Check(*y, "Softmax", "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, "Softmax", "x"));
  PROBITY_RETURN_IF_ERROR(CheckUnary("Softmax", *y, x));
  PROBITY_RETURN_IF_ERROR(WantMinRank("Softmax", "x", x, 1));
  if (y->numel() == 0) return Status::OK();
  return impl_->Softmax(F32(y), F32(x), Rows(x), LastDim(x));
}

Status Backend::U8ToF32(DeviceTensor* y, const DeviceTensor& x, float scale, float offset) {
  constexpr std::string_view op = "U8ToF32";
  PROBITY_RETURN_IF_ERROR(Check(*y, op, "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "x", x, DType::kU8));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "y", *y, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "y", *y, x.shape()));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "scale", scale));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "offset", offset));
  if (y->numel() == 0) return Status::OK();
  return impl_->U8ToF32(F32(y), static_cast<const uint8_t*>(x.raw()), x.numel(), scale, offset);
}

Status Backend::CrossEntropy(DeviceTensor* loss, DeviceTensor* dlogits, const DeviceTensor& logits,
                             const DeviceTensor& labels) {
  constexpr std::string_view op = "CrossEntropy";
  PROBITY_RETURN_IF_ERROR(Check(*loss, op, "loss"));
  PROBITY_RETURN_IF_ERROR(Check(logits, op, "logits"));
  PROBITY_RETURN_IF_ERROR(Check(labels, op, "labels"));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "logits", logits, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "logits", logits, 2));
  const int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  if (rows < 1 || cols < 1) {
    return Bad(
        op, "logits must have at least one row and one class, got " + ShapeString(logits.shape()));
  }
  PROBITY_RETURN_IF_ERROR(WantDType(op, "labels", labels, DType::kI32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "labels", labels, {rows}));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "loss", *loss, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "loss", *loss, {}));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, loss, "loss", &logits, "logits"));
  if (dlogits != nullptr) {
    PROBITY_RETURN_IF_ERROR(Check(*dlogits, op, "dlogits"));
    PROBITY_RETURN_IF_ERROR(WantDType(op, "dlogits", *dlogits, DType::kF32));
    PROBITY_RETURN_IF_ERROR(WantShape(op, "dlogits", *dlogits, logits.shape()));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, dlogits, "dlogits", &logits, "logits"));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, dlogits, "dlogits", loss, "loss"));
  }
  return impl_->CrossEntropy(F32(loss), F32(dlogits), F32(logits),
                             static_cast<const int32_t*>(labels.raw()), rows, cols);
}

Status Backend::Argmax(DeviceTensor* out, const DeviceTensor& x) {
  constexpr std::string_view op = "Argmax";
  PROBITY_RETURN_IF_ERROR(Check(*out, op, "out"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "x", x, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantMinRank(op, "x", x, 1));
  if (LastDim(x) < 1) return Bad(op, "rows of x are empty: " + ShapeString(x.shape()));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "out", *out, DType::kI32));
  Shape want(x.shape().begin(), x.shape().end() - 1);
  PROBITY_RETURN_IF_ERROR(WantShape(op, "out", *out, want));
  if (out->numel() == 0) return Status::OK();
  return impl_->Argmax(static_cast<int32_t*>(out->raw()), F32(x), Rows(x), LastDim(x));
}

Status Backend::GatherRows(DeviceTensor* y, const DeviceTensor& x, std::span<const int64_t> rows) {
  constexpr std::string_view op = "GatherRows";
  PROBITY_RETURN_IF_ERROR(Check(*y, op, "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(WantMinRank(op, "x", x, 1));
  if (y->dtype() != x.dtype()) return Bad(op, "y is " + TensorDesc(*y) + ", x is " + TensorDesc(x));
  Shape want = x.shape();
  want[0] = static_cast<int64_t>(rows.size());
  PROBITY_RETURN_IF_ERROR(WantShape(op, "y", *y, want));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", &x, "x"));
  const int64_t n = x.shape()[0];
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= n) {
      return Bad(op, "row index " + std::to_string(rows[i]) + " at position " + std::to_string(i) +
                         " is outside [0, " + std::to_string(n) + ")");
    }
  }
  if (y->numel() == 0) return Status::OK();
  const size_t row_bytes = x.byte_size() / static_cast<size_t>(n);
  return impl_->GatherRows(y->raw(), x.raw(), rows, row_bytes);
}

// --- Convolution and pooling ----------------------------------------------------------------

static Status CheckConv(std::string_view op, const DeviceTensor& x, const DeviceTensor& w,
                        const Conv2dParams& params, internal::ConvShape* g) {
  PROBITY_RETURN_IF_ERROR(WantDType(op, "x", x, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "w", w, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "x", x, 4));
  PROBITY_RETURN_IF_ERROR(WantRank(op, "w", w, 4));
  if (params.stride < 1) return Bad(op, "stride must be >= 1");
  if (params.padding < 0) return Bad(op, "padding must be >= 0");
  g->n = x.shape()[0], g->c = x.shape()[1], g->h = x.shape()[2], g->w = x.shape()[3];
  g->k = w.shape()[0], g->r = w.shape()[2], g->s = w.shape()[3];
  g->stride = params.stride, g->pad = params.padding;
  if (w.shape()[1] != g->c) {
    return Bad(op, "w " + ShapeString(w.shape()) + " does not match the channels of x " +
                       ShapeString(x.shape()));
  }
  if (g->r < 1 || g->s < 1) return Bad(op, "empty kernel " + ShapeString(w.shape()));
  const int64_t hp = g->h + 2 * g->pad, wp = g->w + 2 * g->pad;
  if (hp < g->r || wp < g->s) {
    return Bad(op, "kernel " + ShapeString(w.shape()) + " is larger than the padded input " +
                       ShapeString(x.shape()));
  }
  g->p = (hp - g->r) / g->stride + 1;
  g->q = (wp - g->s) / g->stride + 1;
  return Status::OK();
}

Status Backend::Conv2d(DeviceTensor* y, const DeviceTensor& x, const DeviceTensor& w,
                       const DeviceTensor* bias, const Conv2dParams& params) {
  constexpr std::string_view op = "Conv2d";
  PROBITY_RETURN_IF_ERROR(Check(*y, op, "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(Check(w, op, "w"));
  internal::ConvShape g;
  PROBITY_RETURN_IF_ERROR(CheckConv(op, x, w, params, &g));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "y", *y, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "y", *y, {g.n, g.k, g.p, g.q}));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", &x, "x"));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", &w, "w"));
  if (bias != nullptr) {
    PROBITY_RETURN_IF_ERROR(Check(*bias, op, "bias"));
    PROBITY_RETURN_IF_ERROR(WantDType(op, "bias", *bias, DType::kF32));
    PROBITY_RETURN_IF_ERROR(WantShape(op, "bias", *bias, {g.k}));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", bias, "bias"));
  }
  if (y->numel() == 0) return Status::OK();
  return impl_->Conv2d(F32(y), F32(x), F32(w), F32(bias), g);
}

Status Backend::Conv2dBackward(DeviceTensor* dx, DeviceTensor* dw, DeviceTensor* dbias,
                               const DeviceTensor& dy, const DeviceTensor& x, const DeviceTensor& w,
                               const Conv2dParams& params) {
  constexpr std::string_view op = "Conv2dBackward";
  PROBITY_RETURN_IF_ERROR(Check(dy, op, "dy"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(Check(w, op, "w"));
  internal::ConvShape g;
  PROBITY_RETURN_IF_ERROR(CheckConv(op, x, w, params, &g));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "dy", dy, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "dy", dy, {g.n, g.k, g.p, g.q}));
  const DeviceTensor* outs[3] = {dx, dw, dbias};
  const char* names[3] = {"dx", "dw", "dbias"};
  const Shape shapes[3] = {x.shape(), w.shape(), {g.k}};
  for (int i = 0; i < 3; ++i) {
    if (outs[i] == nullptr) continue;
    PROBITY_RETURN_IF_ERROR(Check(*outs[i], op, names[i]));
    PROBITY_RETURN_IF_ERROR(WantDType(op, names[i], *outs[i], DType::kF32));
    PROBITY_RETURN_IF_ERROR(WantShape(op, names[i], *outs[i], shapes[i]));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, outs[i], names[i], &dy, "dy"));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, outs[i], names[i], &x, "x"));
    PROBITY_RETURN_IF_ERROR(WantDistinct(op, outs[i], names[i], &w, "w"));
    for (int j = 0; j < i; ++j) {
      PROBITY_RETURN_IF_ERROR(WantDistinct(op, outs[i], names[i], outs[j], names[j]));
    }
  }
  // Zero-element outputs would be skipped by every loop; drop them so backends need not care.
  if (dx != nullptr && dx->numel() == 0) dx = nullptr;
  if (dw != nullptr && dw->numel() == 0) dw = nullptr;
  if (dbias != nullptr && dbias->numel() == 0) dbias = nullptr;
  if (dx == nullptr && dw == nullptr && dbias == nullptr) return Status::OK();
  return impl_->Conv2dBackward(F32(dx), F32(dw), F32(dbias), F32(dy), F32(x), F32(w), g);
}

static Status CheckPool(std::string_view op, const DeviceTensor& big, const char* big_name,
                        const DeviceTensor& small, const char* small_name) {
  PROBITY_RETURN_IF_ERROR(WantDType(op, big_name, big, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantDType(op, small_name, small, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantRank(op, big_name, big, 4));
  const Shape& s = big.shape();
  PROBITY_RETURN_IF_ERROR(WantShape(op, small_name, small, {s[0], s[1], s[2] / 2, s[3] / 2}));
  return Status::OK();
}

Status Backend::MaxPool2x2(DeviceTensor* y, const DeviceTensor& x) {
  constexpr std::string_view op = "MaxPool2x2";
  PROBITY_RETURN_IF_ERROR(Check(*y, op, "y"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(CheckPool(op, x, "x", *y, "y"));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, y, "y", &x, "x"));
  if (y->numel() == 0) return Status::OK();
  const Shape& s = x.shape();
  return impl_->MaxPool2x2(F32(y), F32(x), s[0] * s[1], s[2], s[3]);
}

Status Backend::MaxPool2x2Backward(DeviceTensor* dx, const DeviceTensor& dy,
                                   const DeviceTensor& x) {
  constexpr std::string_view op = "MaxPool2x2Backward";
  PROBITY_RETURN_IF_ERROR(Check(*dx, op, "dx"));
  PROBITY_RETURN_IF_ERROR(Check(dy, op, "dy"));
  PROBITY_RETURN_IF_ERROR(Check(x, op, "x"));
  PROBITY_RETURN_IF_ERROR(CheckPool(op, x, "x", dy, "dy"));
  PROBITY_RETURN_IF_ERROR(WantDType(op, "dx", *dx, DType::kF32));
  PROBITY_RETURN_IF_ERROR(WantShape(op, "dx", *dx, x.shape()));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, dx, "dx", &x, "x"));
  PROBITY_RETURN_IF_ERROR(WantDistinct(op, dx, "dx", &dy, "dy"));
  if (dx->numel() == 0) return Status::OK();
  const Shape& s = x.shape();
  return impl_->MaxPool2x2Backward(F32(dx), F32(dy), F32(x), s[0] * s[1], s[2], s[3]);
}

// --- Optimisers -----------------------------------------------------------------------------

static Status CheckParamState(
    std::string_view op, const DeviceTensor& w,
    std::initializer_list<std::pair<const DeviceTensor*, const char*>> others) {
  PROBITY_RETURN_IF_ERROR(WantDType(op, "w", w, DType::kF32));
  std::vector<std::pair<const DeviceTensor*, const char*>> all = {{&w, "w"}};
  for (const auto& [t, name] : others) {
    PROBITY_RETURN_IF_ERROR(WantDType(op, name, *t, DType::kF32));
    PROBITY_RETURN_IF_ERROR(WantShape(op, name, *t, w.shape()));
    for (const auto& [u, uname] : all) {
      PROBITY_RETURN_IF_ERROR(WantDistinct(op, t, name, u, uname));
    }
    all.push_back({t, name});
  }
  return Status::OK();
}

Status Backend::SgdMomentumUpdate(DeviceTensor* w, DeviceTensor* velocity, const DeviceTensor& grad,
                                  const SgdParams& params) {
  constexpr std::string_view op = "SgdMomentumUpdate";
  PROBITY_RETURN_IF_ERROR(Check(*w, op, "w"));
  PROBITY_RETURN_IF_ERROR(Check(*velocity, op, "velocity"));
  PROBITY_RETURN_IF_ERROR(Check(grad, op, "grad"));
  PROBITY_RETURN_IF_ERROR(CheckParamState(op, *w, {{velocity, "velocity"}, {&grad, "grad"}}));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "learning_rate", params.learning_rate));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "momentum", params.momentum));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "weight_decay", params.weight_decay));
  if (w->numel() == 0) return Status::OK();
  return impl_->SgdMomentum(F32(w), F32(velocity), F32(grad), w->numel(), params);
}

Status Backend::AdamUpdate(DeviceTensor* w, DeviceTensor* m, DeviceTensor* v,
                           const DeviceTensor& grad, const AdamParams& p) {
  constexpr std::string_view op = "AdamUpdate";
  PROBITY_RETURN_IF_ERROR(Check(*w, op, "w"));
  PROBITY_RETURN_IF_ERROR(Check(*m, op, "m"));
  PROBITY_RETURN_IF_ERROR(Check(*v, op, "v"));
  PROBITY_RETURN_IF_ERROR(Check(grad, op, "grad"));
  PROBITY_RETURN_IF_ERROR(CheckParamState(op, *w, {{m, "m"}, {v, "v"}, {&grad, "grad"}}));
  if (p.step < 1) return Bad(op, "step must be >= 1");
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "learning_rate", p.learning_rate));
  PROBITY_RETURN_IF_ERROR(WantFinite(op, "weight_decay", p.weight_decay));
  if (!(p.beta1 >= 0.0f && p.beta1 < 1.0f) || !(p.beta2 >= 0.0f && p.beta2 < 1.0f)) {
    return Bad(op, "beta1 and beta2 must be in [0, 1)");
  }
  if (!(p.epsilon > 0.0f) || !std::isfinite(p.epsilon)) {
    return Bad(op, "epsilon must be positive and finite");
  }
  detmath::AdamScalars s;
  s.lr = p.learning_rate;
  s.beta1 = p.beta1;
  s.beta2 = p.beta2;
  s.c1 = 1.0f - p.beta1;
  s.c2 = 1.0f - p.beta2;
  s.bc1 = 1.0f - PowByMultiplication(p.beta1, p.step);
  s.bc2 = 1.0f - PowByMultiplication(p.beta2, p.step);
  s.eps = p.epsilon;
  s.wd = p.weight_decay;
  if (w->numel() == 0) return Status::OK();
  return impl_->Adam(F32(w), F32(m), F32(v), F32(grad), w->numel(), s);
}

// --- Hashing --------------------------------------------------------------------------------

Result<Hash256> Backend::HashTensor(const DeviceTensor& t) {
  Hash256 out;
  const DeviceTensor* list[1] = {&t};
  PROBITY_RETURN_IF_ERROR(HashTensors(std::span<Hash256>(&out, 1), list));
  return out;
}

Status Backend::HashTensors(std::span<Hash256> out, std::span<const DeviceTensor* const> tensors) {
  constexpr std::string_view op = "HashTensors";
  if (out.size() != tensors.size()) {
    return Bad(op, std::to_string(tensors.size()) + " tensors but room for " +
                       std::to_string(out.size()) + " digests");
  }
  std::vector<Bytes> headers;
  std::vector<internal::HashItem> items;
  headers.reserve(tensors.size());
  items.reserve(tensors.size());
  for (const DeviceTensor* t : tensors) {
    if (t == nullptr) return Bad(op, "null tensor");
    PROBITY_RETURN_IF_ERROR(Check(*t, op, "tensor"));
    headers.push_back(EncodeTensorHeader(t->dtype(), t->shape()));
    items.push_back({headers.back(), t->raw(), t->byte_size()});
  }
  if (items.empty()) return Status::OK();
  return impl_->HashTensors(out, items);
}

int64_t RowChunkCount(const Shape& shape, int64_t rows_per_chunk) {
  if (rows_per_chunk < 1) return 0;
  if (shape.empty() || shape[0] <= rows_per_chunk) return 1;
  return (shape[0] - 1) / rows_per_chunk + 1;
}

Status Backend::HashRowChunks(std::span<Hash256> out, std::span<const RowChunking> tensors) {
  constexpr std::string_view op = "HashRowChunks";
  size_t total = 0;
  for (const RowChunking& c : tensors) {
    if (c.tensor == nullptr) return Bad(op, "null tensor");
    PROBITY_RETURN_IF_ERROR(Check(*c.tensor, op, "tensor"));
    if (c.rows_per_chunk < 1) {
      return Bad(op, "rows_per_chunk must be >= 1, got " + std::to_string(c.rows_per_chunk));
    }
    total += static_cast<size_t>(RowChunkCount(c.tensor->shape(), c.rows_per_chunk));
  }
  if (out.size() != total) {
    return Bad(op, "the tensors have " + std::to_string(total) + " chunks but there is room for " +
                       std::to_string(out.size()) + " digests");
  }
  // Every chunk but a tensor's last has one header; the last may be shorter. The items point
  // into the tensors' memory, so nothing is copied.
  std::vector<Bytes> headers;
  headers.reserve(2 * tensors.size());
  std::vector<internal::HashItem> items;
  items.reserve(total);
  for (const RowChunking& c : tensors) {
    const DeviceTensor& t = *c.tensor;
    const int64_t count = RowChunkCount(t.shape(), c.rows_per_chunk);
    if (count == 1) {
      headers.push_back(EncodeTensorHeader(t.dtype(), t.shape()));
      items.push_back({headers.back(), t.raw(), t.byte_size()});
      continue;
    }
    const int64_t rows = t.shape()[0];
    const size_t row_bytes = t.byte_size() / static_cast<size_t>(rows);
    Shape shape = t.shape();
    shape[0] = c.rows_per_chunk;
    headers.push_back(EncodeTensorHeader(t.dtype(), shape));
    const Bytes& full = headers.back();
    const int64_t last_rows = rows - (count - 1) * c.rows_per_chunk;
    shape[0] = last_rows;
    headers.push_back(EncodeTensorHeader(t.dtype(), shape));
    const Bytes& last = headers.back();
    const auto* base = static_cast<const uint8_t*>(t.raw());
    for (int64_t k = 0; k < count; ++k) {
      const size_t begin = static_cast<size_t>(k * c.rows_per_chunk) * row_bytes;
      const bool is_last = k + 1 == count;
      const size_t bytes = static_cast<size_t>(is_last ? last_rows : c.rows_per_chunk) * row_bytes;
      items.push_back({is_last ? ByteView(last) : ByteView(full), base + begin, bytes});
    }
  }
  if (items.empty()) return Status::OK();
  return impl_->HashTensors(out, items);
}

}  // namespace probity::workloads
