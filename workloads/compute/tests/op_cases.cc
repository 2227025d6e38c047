#include "op_cases.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "elementwise_math.h"
#include "probity/primitives/sha256.h"

namespace probity::workloads::testing {
namespace {

using detmath::Canonical;

// --- Deterministic inputs ----------------------------------------------------------------

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi), from 24 random bits (exactly representable steps).
  float Uniform(float lo, float hi) {
    const float u = static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
  }

 private:
  uint64_t s_;
};

float SpecialValue(uint64_t pick) {
  const uint32_t bits[] = {
      0x00000000u,  // +0
      0x80000000u,  // -0
      0x7F800000u,  // +inf
      0xFF800000u,  // -inf
      0x7FC00001u,  // quiet NaN with a payload
      0xFFC00000u,  // x86's default NaN
      0x00000001u,  // smallest subnormal
      0x806FFFFFu,  // negative subnormal
      0x7F7FFFFFu,  // FLT_MAX
      0x42B10000u,  // 88.5: near Exp's overflow
      0xC2C80000u,  // -100: Exp in the subnormal range
      0x3F800000u,  // 1
  };
  return detmath::BitsFloat(bits[pick % (sizeof(bits) / sizeof(bits[0]))]);
}

// Uniform values in [lo, hi); with `specials`, about one element in 12 is a special value.
Tensor RandomF32(Shape shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f,
                 bool specials = false) {
  Tensor t = Tensor::Zeros(DType::kF32, std::move(shape)).value();
  Rng rng(seed);
  for (float& v : t.mutable_data<float>()) {
    v = rng.Uniform(lo, hi);
    if (specials && rng.Next() % 12 == 0) v = SpecialValue(rng.Next());
  }
  return t;
}

Tensor RandomI8(Shape shape, uint64_t seed) {
  Tensor t = Tensor::Zeros(DType::kI8, std::move(shape)).value();
  Rng rng(seed);
  auto d = t.mutable_data<int8_t>();
  for (size_t i = 0; i < d.size(); ++i) {
    const uint64_t r = rng.Next();
    // Mostly random, sometimes the extremes that stress the int32 range.
    d[i] = (r & 15) == 0 ? (r & 16 ? -128 : 127) : static_cast<int8_t>(r >> 56);
  }
  return t;
}

Tensor RandomU8(Shape shape, uint64_t seed) {
  Tensor t = Tensor::Zeros(DType::kU8, std::move(shape)).value();
  Rng rng(seed);
  for (uint8_t& v : t.mutable_data<uint8_t>()) v = static_cast<uint8_t>(rng.Next() >> 56);
  return t;
}

Tensor RandomLabels(int64_t rows, int64_t classes, uint64_t seed) {
  Tensor t = Tensor::Zeros(DType::kI32, {rows}).value();
  Rng rng(seed);
  for (int32_t& v : t.mutable_data<int32_t>()) v = static_cast<int32_t>(rng.Next() % classes);
  return t;
}

Tensor Zeros(DType d, Shape s) { return Tensor::Zeros(d, std::move(s)).value(); }

std::string Dims(std::initializer_list<std::pair<const char*, int64_t>> dims) {
  std::string s;
  for (const auto& [name, v] : dims) s += std::string(" ") + name + "=" + std::to_string(v);
  return s;
}

// --- GEMM --------------------------------------------------------------------------------

void AddGemmF32(std::vector<OpCase>* out, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
                int init, bool specials, uint64_t seed) {
  // init: 0 = from +0, 1 = from bias, 2 = accumulate onto C.
  Tensor a = RandomF32(ta ? Shape{k, m} : Shape{m, k}, seed, -1, 1, specials);
  Tensor b = RandomF32(tb ? Shape{n, k} : Shape{k, n}, seed + 1, -1, 1, specials);
  Tensor bias = RandomF32({n}, seed + 2);
  Tensor c0 = RandomF32({m, n}, seed + 3, -4, 4);
  std::string name = "GemmF32" + Dims({{"m", m}, {"n", n}, {"k", k}}) + (ta ? " tA" : "") +
                     (tb ? " tB" : "") +
                     (init == 1   ? " bias"
                      : init == 2 ? " accumulate"
                                  : "") +
                     (specials ? " specials" : "");
  OpCase oc;
  oc.family = "GemmF32";
  oc.name = name;
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor da, be.Upload(a));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor db, be.Upload(b));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dbias, be.Upload(bias));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dc, be.Upload(c0));
    GemmOptions o{.transpose_a = ta, .transpose_b = tb, .accumulate = init == 2};
    PROBITY_RETURN_IF_ERROR(be.GemmF32(&dc, da, db, o, init == 1 ? &dbias : nullptr));
    PROBITY_ASSIGN_OR_RETURN(Tensor c, be.Download(dc));
    return std::vector<Tensor>{c};
  };
  oc.reference = [=]() {
    Tensor c = Zeros(DType::kF32, {m, n});
    auto A = a.data<float>(), B = b.data<float>(), C0 = c0.data<float>();
    auto C = c.mutable_data<float>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        float acc = init == 2 ? C0[i * n + j] : init == 1 ? bias.data<float>()[j] : 0.0f;
        for (int64_t kk = 0; kk < k; ++kk) {
          const float av = ta ? A[kk * m + i] : A[i * k + kk];
          const float bv = tb ? B[j * k + kk] : B[kk * n + j];
          acc = std::fma(av, bv, acc);
        }
        C[i * n + j] = Canonical(acc);
      }
    }
    return std::vector<Tensor>{c};
  };
  out->push_back(std::move(oc));
}

void AddGemmI8(std::vector<OpCase>* out, int64_t m, int64_t n, int64_t k, bool ta, bool tb,
               uint64_t seed) {
  Tensor a = RandomI8(ta ? Shape{k, m} : Shape{m, k}, seed);
  Tensor b = RandomI8(tb ? Shape{n, k} : Shape{k, n}, seed + 1);
  OpCase oc;
  oc.family = "GemmI8";
  oc.name = "GemmI8" + Dims({{"m", m}, {"n", n}, {"k", k}}) + (ta ? " tA" : "") + (tb ? " tB" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor da, be.Upload(a));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor db, be.Upload(b));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dc, be.Allocate(DType::kI32, {m, n}));
    GemmOptions o{.transpose_a = ta, .transpose_b = tb};
    PROBITY_RETURN_IF_ERROR(be.GemmI8(&dc, da, db, o));
    PROBITY_ASSIGN_OR_RETURN(Tensor c, be.Download(dc));
    return std::vector<Tensor>{c};
  };
  oc.reference = [=]() {
    Tensor c = Zeros(DType::kI32, {m, n});
    auto A = a.data<int8_t>(), B = b.data<int8_t>();
    auto C = c.mutable_data<int32_t>();
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        int64_t acc = 0;
        for (int64_t kk = 0; kk < k; ++kk) {
          acc += int64_t{ta ? A[kk * m + i] : A[i * k + kk]} *
                 int64_t{tb ? B[j * k + kk] : B[kk * n + j]};
        }
        C[i * n + j] = static_cast<int32_t>(acc);
      }
    }
    return std::vector<Tensor>{c};
  };
  out->push_back(std::move(oc));
}

// --- Elementwise and rows ----------------------------------------------------------------

// A unary f32 op y = op(x) (or a binary one dx = op(dy, x)) checked elementwise.
void AddElementwise(std::vector<OpCase>* out, const std::string& family, Shape shape, bool specials,
                    uint64_t seed, float lo, float hi) {
  Tensor x = RandomF32(shape, seed, lo, hi, specials);
  Tensor dy = RandomF32(shape, seed + 1, -2, 2, specials);
  OpCase oc;
  oc.family = family;
  oc.name = family + " " + ShapeString(shape) + (specials ? " specials" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor ddy, be.Upload(dy));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, x.shape()));
    if (family == "Relu") PROBITY_RETURN_IF_ERROR(be.Relu(&y, dx));
    if (family == "ReluBackward") PROBITY_RETURN_IF_ERROR(be.ReluBackward(&y, ddy, dx));
    if (family == "Gelu") PROBITY_RETURN_IF_ERROR(be.Gelu(&y, dx));
    if (family == "GeluBackward") PROBITY_RETURN_IF_ERROR(be.GeluBackward(&y, ddy, dx));
    if (family == "Softmax") PROBITY_RETURN_IF_ERROR(be.Softmax(&y, dx));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    // In place (y = x) must give the same bits, where the op allows it.
    if (family == "Relu" || family == "Gelu" || family == "Softmax") {
      if (family == "Relu") PROBITY_RETURN_IF_ERROR(be.Relu(&dx, dx));
      if (family == "Gelu") PROBITY_RETURN_IF_ERROR(be.Gelu(&dx, dx));
      if (family == "Softmax") PROBITY_RETURN_IF_ERROR(be.Softmax(&dx, dx));
    } else {
      if (family == "ReluBackward") PROBITY_RETURN_IF_ERROR(be.ReluBackward(&ddy, ddy, dx));
      if (family == "GeluBackward") PROBITY_RETURN_IF_ERROR(be.GeluBackward(&ddy, ddy, dx));
      dx = std::move(ddy);
    }
    PROBITY_ASSIGN_OR_RETURN(Tensor r2, be.Download(dx));
    return std::vector<Tensor>{r, r2};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(DType::kF32, x.shape());
    auto X = x.data<float>(), DY = dy.data<float>();
    auto Y = y.mutable_data<float>();
    if (family == "Softmax") {
      const int64_t cols = shape.back(), rows = x.numel() / cols;
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = X.data() + r * cols;
        float m = xr[0];
        for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
        float s = 0.0f;
        for (int64_t j = 0; j < cols; ++j) s += detmath::Exp(xr[j] - m);
        for (int64_t j = 0; j < cols; ++j) Y[r * cols + j] = Canonical(detmath::Exp(xr[j] - m) / s);
      }
    } else {
      for (int64_t i = 0; i < x.numel(); ++i) {
        const float v = X[i];
        if (family == "Relu") Y[i] = v > 0 ? v : (std::isnan(v) ? Canonical(v) : 0.0f);
        if (family == "ReluBackward") Y[i] = v > 0 ? Canonical(DY[i]) : 0.0f;
        if (family == "Gelu") Y[i] = detmath::GeluForward(v);
        if (family == "GeluBackward") Y[i] = detmath::GeluGrad(DY[i], v);
      }
    }
    return std::vector<Tensor>{y, y};
  };
  out->push_back(std::move(oc));
}

void AddBiasAdd(std::vector<OpCase>* out, Shape shape, uint64_t seed) {
  Tensor x = RandomF32(shape, seed, -3, 3, true);
  Tensor bias = RandomF32({shape.back()}, seed + 1);
  OpCase oc;
  oc.family = "BiasAdd";
  oc.name = "BiasAdd " + ShapeString(shape);
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor db, be.Upload(bias));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, shape));
    PROBITY_RETURN_IF_ERROR(be.BiasAdd(&y, dx, db));
    PROBITY_RETURN_IF_ERROR(be.BiasAdd(&dx, dx, db));  // in place
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    PROBITY_ASSIGN_OR_RETURN(Tensor r2, be.Download(dx));
    return std::vector<Tensor>{r, r2};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(DType::kF32, shape);
    const int64_t cols = shape.back();
    for (int64_t i = 0; i < x.numel(); ++i) {
      y.mutable_data<float>()[i] = Canonical(x.data<float>()[i] + bias.data<float>()[i % cols]);
    }
    return std::vector<Tensor>{y, y};
  };
  out->push_back(std::move(oc));
}

void AddColumnSums(std::vector<OpCase>* out, Shape shape, bool specials, uint64_t seed) {
  Tensor x = RandomF32(shape, seed, -5, 5, specials);
  OpCase oc;
  oc.family = "ColumnSums";
  oc.name = "ColumnSums " + ShapeString(shape) + (specials ? " specials" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, {shape.back()}));
    PROBITY_RETURN_IF_ERROR(be.ColumnSums(&y, dx));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    return std::vector<Tensor>{r};
  };
  oc.reference = [=]() {
    const int64_t cols = shape.back(), rows = x.numel() / cols;
    Tensor y = Zeros(DType::kF32, {cols});
    for (int64_t j = 0; j < cols; ++j) {
      float acc = 0.0f;
      for (int64_t i = 0; i < rows; ++i) acc += x.data<float>()[i * cols + j];
      y.mutable_data<float>()[j] = Canonical(acc);
    }
    return std::vector<Tensor>{y};
  };
  out->push_back(std::move(oc));
}

void AddU8ToF32(std::vector<OpCase>* out, Shape shape, uint64_t seed) {
  Tensor x = RandomU8(shape, seed);
  const float scale = 1.0f / 255.0f / 0.3530f, offset = -0.2860f / 0.3530f;
  OpCase oc;
  oc.family = "U8ToF32";
  oc.name = "U8ToF32 " + ShapeString(shape);
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, shape));
    PROBITY_RETURN_IF_ERROR(be.U8ToF32(&y, dx, scale, offset));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    return std::vector<Tensor>{r};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(DType::kF32, shape);
    for (int64_t i = 0; i < x.numel(); ++i) {
      y.mutable_data<float>()[i] =
          std::fma(static_cast<float>(x.data<uint8_t>()[i]), scale, offset);
    }
    return std::vector<Tensor>{y};
  };
  out->push_back(std::move(oc));
}

void AddCrossEntropy(std::vector<OpCase>* out, int64_t rows, int64_t cols, bool with_grad,
                     bool specials, uint64_t seed) {
  Tensor logits = RandomF32({rows, cols}, seed, -8, 8, specials);
  Tensor labels = RandomLabels(rows, cols, seed + 1);
  OpCase oc;
  oc.family = "CrossEntropy";
  oc.name = "CrossEntropy" + Dims({{"rows", rows}, {"classes", cols}}) +
            (with_grad ? " grad" : "") + (specials ? " specials" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dl, be.Upload(logits));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dlab, be.Upload(labels));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor loss, be.Allocate(DType::kF32, {}));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor grad, be.Allocate(DType::kF32, {rows, cols}));
    PROBITY_RETURN_IF_ERROR(be.CrossEntropy(&loss, with_grad ? &grad : nullptr, dl, dlab));
    PROBITY_ASSIGN_OR_RETURN(Tensor l, be.Download(loss));
    PROBITY_ASSIGN_OR_RETURN(Tensor g, be.Download(grad));
    return std::vector<Tensor>{l, g};
  };
  oc.reference = [=]() {
    Tensor l = Zeros(DType::kF32, {});
    Tensor g = Zeros(DType::kF32, {rows, cols});
    auto X = logits.data<float>();
    const float batch = static_cast<float>(rows);
    float total = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = X.data() + r * cols;
      const int32_t label = labels.data<int32_t>()[r];
      float m = xr[0];
      for (int64_t j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
      float s = 0.0f;
      for (int64_t j = 0; j < cols; ++j) s += detmath::Exp(xr[j] - m);
      total += (m + detmath::Log(s)) - xr[label];
      if (with_grad) {
        for (int64_t j = 0; j < cols; ++j) {
          const float p = detmath::Exp(xr[j] - m) / s;
          g.mutable_data<float>()[r * cols + j] =
              Canonical((p - (j == label ? 1.0f : 0.0f)) / batch);
        }
      }
    }
    l.mutable_data<float>()[0] = Canonical(total / batch);
    return std::vector<Tensor>{l, g};
  };
  out->push_back(std::move(oc));
}

void AddArgmax(std::vector<OpCase>* out, Shape shape, bool ties, uint64_t seed) {
  Tensor x = RandomF32(shape, seed, -1, 1, !ties);
  if (ties) {  // few distinct values, so that ties decide
    for (float& v : x.mutable_data<float>()) v = std::floor(v * 2.0f);
  }
  Shape oshape(shape.begin(), shape.end() - 1);
  OpCase oc;
  oc.family = "Argmax";
  oc.name = "Argmax " + ShapeString(shape) + (ties ? " ties" : " specials");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kI32, oshape));
    PROBITY_RETURN_IF_ERROR(be.Argmax(&y, dx));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    return std::vector<Tensor>{r};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(DType::kI32, oshape);
    const int64_t cols = shape.back();
    for (int64_t r = 0; r < y.numel(); ++r) {
      const float* xr = x.data<float>().data() + r * cols;
      int32_t at = 0;
      for (int64_t j = 1; j < cols; ++j) {
        if (xr[j] > xr[at]) at = static_cast<int32_t>(j);
      }
      y.mutable_data<int32_t>()[r] = at;
    }
    return std::vector<Tensor>{y};
  };
  out->push_back(std::move(oc));
}

void AddGatherRows(std::vector<OpCase>* out, DType dtype, Shape shape, int64_t picks,
                   uint64_t seed) {
  Tensor x = dtype == DType::kU8 ? RandomU8(shape, seed) : RandomF32(shape, seed, -1, 1, true);
  std::vector<int64_t> rows(static_cast<size_t>(picks));
  Rng rng(seed + 1);
  for (int64_t& r : rows) r = static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(shape[0]));
  Shape oshape = shape;
  oshape[0] = picks;
  OpCase oc;
  oc.family = "GatherRows";
  oc.name = "GatherRows " + std::string(DTypeName(dtype)) + ShapeString(shape) +
            " picks=" + std::to_string(picks);
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(dtype, oshape));
    PROBITY_RETURN_IF_ERROR(be.GatherRows(&y, dx, rows));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    return std::vector<Tensor>{r};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(dtype, oshape);
    const size_t row_bytes = x.byte_size() / static_cast<size_t>(shape[0]);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(y.mutable_bytes().data() + i * row_bytes, x.bytes().data() + rows[i] * row_bytes,
                  row_bytes);
    }
    return std::vector<Tensor>{y};
  };
  out->push_back(std::move(oc));
}

// --- Convolution and pooling -------------------------------------------------------------

struct ConvCase {
  int64_t n, c, h, w, k, r, s, stride, pad;
  bool bias;
};

int64_t ConvOut(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
  return (in + 2 * pad - kernel) / stride + 1;
}

void AddConv(std::vector<OpCase>* out, ConvCase cc, uint64_t seed) {
  const int64_t p = ConvOut(cc.h, cc.r, cc.stride, cc.pad);
  const int64_t q = ConvOut(cc.w, cc.s, cc.stride, cc.pad);
  Tensor x = RandomF32({cc.n, cc.c, cc.h, cc.w}, seed);
  Tensor w = RandomF32({cc.k, cc.c, cc.r, cc.s}, seed + 1);
  Tensor bias = RandomF32({cc.k}, seed + 2);
  Tensor dy = RandomF32({cc.n, cc.k, p, q}, seed + 3);
  const std::string dims = Dims({{"n", cc.n},
                                 {"c", cc.c},
                                 {"h", cc.h},
                                 {"w", cc.w},
                                 {"k", cc.k},
                                 {"r", cc.r},
                                 {"s", cc.s},
                                 {"stride", cc.stride},
                                 {"pad", cc.pad}}) +
                           (cc.bias ? " bias" : "");
  const Conv2dParams params{.stride = static_cast<int>(cc.stride),
                            .padding = static_cast<int>(cc.pad)};
  auto xin = [=](const Tensor& xt, int64_t n, int64_t c, int64_t h, int64_t ww) {
    if (h < 0 || h >= cc.h || ww < 0 || ww >= cc.w) return 0.0f;
    return xt.data<float>()[((n * cc.c + c) * cc.h + h) * cc.w + ww];
  };

  OpCase fwd;
  fwd.family = "Conv2d";
  fwd.name = "Conv2d" + dims;
  fwd.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dw, be.Upload(w));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor db, be.Upload(bias));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, {cc.n, cc.k, p, q}));
    PROBITY_RETURN_IF_ERROR(be.Conv2d(&y, dx, dw, cc.bias ? &db : nullptr, params));
    PROBITY_ASSIGN_OR_RETURN(Tensor r, be.Download(y));
    return std::vector<Tensor>{r};
  };
  fwd.reference = [=]() {
    Tensor y = Zeros(DType::kF32, {cc.n, cc.k, p, q});
    auto W = w.data<float>();
    for (int64_t n = 0; n < cc.n; ++n)
      for (int64_t k = 0; k < cc.k; ++k)
        for (int64_t pp = 0; pp < p; ++pp)
          for (int64_t qq = 0; qq < q; ++qq) {
            float acc = cc.bias ? bias.data<float>()[k] : 0.0f;
            for (int64_t c = 0; c < cc.c; ++c)
              for (int64_t r = 0; r < cc.r; ++r)
                for (int64_t s = 0; s < cc.s; ++s) {
                  acc = std::fma(
                      W[((k * cc.c + c) * cc.r + r) * cc.s + s],
                      xin(x, n, c, pp * cc.stride + r - cc.pad, qq * cc.stride + s - cc.pad), acc);
                }
            y.mutable_data<float>()[((n * cc.k + k) * p + pp) * q + qq] = Canonical(acc);
          }
    return std::vector<Tensor>{y};
  };
  out->push_back(std::move(fwd));

  OpCase bwd;
  bwd.family = "Conv2dBackward";
  bwd.name = "Conv2dBackward" + dims;
  bwd.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dw, be.Upload(w));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor ddy, be.Upload(dy));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor gx, be.Allocate(DType::kF32, x.shape()));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor gw, be.Allocate(DType::kF32, w.shape()));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor gb, be.Allocate(DType::kF32, {cc.k}));
    PROBITY_RETURN_IF_ERROR(
        be.Conv2dBackward(&gx, &gw, cc.bias ? &gb : nullptr, ddy, dx, dw, params));
    PROBITY_ASSIGN_OR_RETURN(Tensor rx, be.Download(gx));
    PROBITY_ASSIGN_OR_RETURN(Tensor rw, be.Download(gw));
    PROBITY_ASSIGN_OR_RETURN(Tensor rb, be.Download(gb));
    return std::vector<Tensor>{rx, rw, rb};
  };
  bwd.reference = [=]() {
    Tensor gx = Zeros(DType::kF32, x.shape());
    Tensor gw = Zeros(DType::kF32, w.shape());
    Tensor gb = Zeros(DType::kF32, {cc.k});
    auto DY = dy.data<float>();
    auto W = w.data<float>();
    auto dyat = [&](int64_t n, int64_t k, int64_t pp, int64_t qq) {
      return DY[((n * cc.k + k) * p + pp) * q + qq];
    };
    if (cc.bias) {
      for (int64_t k = 0; k < cc.k; ++k) {
        float acc = 0.0f;
        for (int64_t n = 0; n < cc.n; ++n)
          for (int64_t pp = 0; pp < p; ++pp)
            for (int64_t qq = 0; qq < q; ++qq) acc += dyat(n, k, pp, qq);
        gb.mutable_data<float>()[k] = Canonical(acc);
      }
    }
    for (int64_t k = 0; k < cc.k; ++k)
      for (int64_t c = 0; c < cc.c; ++c)
        for (int64_t r = 0; r < cc.r; ++r)
          for (int64_t s = 0; s < cc.s; ++s) {
            float acc = 0.0f;
            for (int64_t n = 0; n < cc.n; ++n)
              for (int64_t pp = 0; pp < p; ++pp)
                for (int64_t qq = 0; qq < q; ++qq)
                  acc = std::fma(
                      dyat(n, k, pp, qq),
                      xin(x, n, c, pp * cc.stride + r - cc.pad, qq * cc.stride + s - cc.pad), acc);
            gw.mutable_data<float>()[((k * cc.c + c) * cc.r + r) * cc.s + s] = Canonical(acc);
          }
    for (int64_t n = 0; n < cc.n; ++n)
      for (int64_t c = 0; c < cc.c; ++c)
        for (int64_t h = 0; h < cc.h; ++h)
          for (int64_t ww = 0; ww < cc.w; ++ww) {
            float acc = 0.0f;
            for (int64_t r = 0; r < cc.r; ++r)
              for (int64_t s = 0; s < cc.s; ++s) {
                const int64_t ph = h + cc.pad - r, qw = ww + cc.pad - s;
                if (ph < 0 || qw < 0 || ph % cc.stride || qw % cc.stride) continue;
                const int64_t pp = ph / cc.stride, qq = qw / cc.stride;
                if (pp >= p || qq >= q) continue;
                float col = 0.0f;  // the rounded first stage: chain over k
                for (int64_t k = 0; k < cc.k; ++k) {
                  col =
                      std::fma(W[((k * cc.c + c) * cc.r + r) * cc.s + s], dyat(n, k, pp, qq), col);
                }
                acc += Canonical(col);
              }
            gx.mutable_data<float>()[((n * cc.c + c) * cc.h + h) * cc.w + ww] = Canonical(acc);
          }
    return std::vector<Tensor>{gx, gw, gb};
  };
  out->push_back(std::move(bwd));
}

void AddMaxPool(std::vector<OpCase>* out, Shape shape, bool ties, uint64_t seed) {
  Tensor x = RandomF32(shape, seed, -1, 1, !ties);
  if (ties) {
    for (float& v : x.mutable_data<float>()) v = std::floor(v * 1.5f);
  }
  Tensor dy = RandomF32({shape[0], shape[1], shape[2] / 2, shape[3] / 2}, seed + 1);
  OpCase oc;
  oc.family = "MaxPool2x2";
  oc.name = "MaxPool2x2 " + ShapeString(shape) + (ties ? " ties" : " specials");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dx, be.Upload(x));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor ddy, be.Upload(dy));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor y, be.Allocate(DType::kF32, dy.shape()));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor gx, be.Allocate(DType::kF32, shape));
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2(&y, dx));
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2Backward(&gx, ddy, dx));
    PROBITY_ASSIGN_OR_RETURN(Tensor ry, be.Download(y));
    PROBITY_ASSIGN_OR_RETURN(Tensor rg, be.Download(gx));
    return std::vector<Tensor>{ry, rg};
  };
  oc.reference = [=]() {
    Tensor y = Zeros(DType::kF32, dy.shape());
    Tensor gx = Zeros(DType::kF32, shape);
    const int64_t h = shape[2], w = shape[3], ho = h / 2, wo = w / 2;
    for (int64_t pl = 0; pl < shape[0] * shape[1]; ++pl)
      for (int64_t i = 0; i < ho; ++i)
        for (int64_t j = 0; j < wo; ++j) {
          int64_t best = (pl * h + 2 * i) * w + 2 * j;
          const int64_t cand[3] = {best + 1, best + w, best + w + 1};
          for (int64_t c : cand) {
            if (x.data<float>()[c] > x.data<float>()[best]) best = c;
          }
          y.mutable_data<float>()[(pl * ho + i) * wo + j] = Canonical(x.data<float>()[best]);
          gx.mutable_data<float>()[best] = Canonical(dy.data<float>()[(pl * ho + i) * wo + j]);
        }
    return std::vector<Tensor>{y, gx};
  };
  out->push_back(std::move(oc));
}

// --- Optimisers --------------------------------------------------------------------------

void AddSgd(std::vector<OpCase>* out, int64_t n, float wd, uint64_t seed) {
  Tensor w = RandomF32({n}, seed), v = RandomF32({n}, seed + 1, -0.1f, 0.1f);
  Tensor g = RandomF32({n}, seed + 2, -1, 1, true);
  const SgdParams p{.learning_rate = 0.05f, .momentum = 0.9f, .weight_decay = wd};
  OpCase oc;
  oc.family = "SgdMomentumUpdate";
  oc.name = "SgdMomentumUpdate n=" + std::to_string(n) + (wd != 0 ? " weight_decay" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dw, be.Upload(w));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dv, be.Upload(v));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dg, be.Upload(g));
    PROBITY_RETURN_IF_ERROR(be.SgdMomentumUpdate(&dw, &dv, dg, p));
    PROBITY_RETURN_IF_ERROR(be.SgdMomentumUpdate(&dw, &dv, dg, p));
    PROBITY_ASSIGN_OR_RETURN(Tensor rw, be.Download(dw));
    PROBITY_ASSIGN_OR_RETURN(Tensor rv, be.Download(dv));
    return std::vector<Tensor>{rw, rv};
  };
  oc.reference = [=]() {
    Tensor rw = w, rv = v;
    for (int step = 0; step < 2; ++step) {
      for (int64_t i = 0; i < n; ++i) {
        float& wi = rw.mutable_data<float>()[i];
        float& vi = rv.mutable_data<float>()[i];
        const float gp = std::fma(wd, wi, g.data<float>()[i]);
        vi = Canonical(std::fma(p.momentum, vi, gp));
        wi = Canonical(std::fma(-p.learning_rate, vi, wi));
      }
    }
    return std::vector<Tensor>{rw, rv};
  };
  out->push_back(std::move(oc));
}

void AddAdam(std::vector<OpCase>* out, int64_t n, uint64_t step, float wd, uint64_t seed) {
  Tensor w = RandomF32({n}, seed), m = RandomF32({n}, seed + 1, -0.1f, 0.1f);
  Tensor v = RandomF32({n}, seed + 2, 0.0f, 0.01f);
  Tensor g = RandomF32({n}, seed + 3, -1, 1, true);
  AdamParams p{.learning_rate = 1e-3f, .weight_decay = wd, .step = step};
  OpCase oc;
  oc.family = "AdamUpdate";
  oc.name = "AdamUpdate n=" + std::to_string(n) + " step=" + std::to_string(step) +
            (wd != 0 ? " weight_decay" : "");
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dw, be.Upload(w));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dm, be.Upload(m));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dv, be.Upload(v));
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor dg, be.Upload(g));
    PROBITY_RETURN_IF_ERROR(be.AdamUpdate(&dw, &dm, &dv, dg, p));
    PROBITY_ASSIGN_OR_RETURN(Tensor rw, be.Download(dw));
    PROBITY_ASSIGN_OR_RETURN(Tensor rm, be.Download(dm));
    PROBITY_ASSIGN_OR_RETURN(Tensor rv, be.Download(dv));
    return std::vector<Tensor>{rw, rm, rv};
  };
  oc.reference = [=]() {
    Tensor rw = w, rm = m, rv = v;
    const float bc1 = 1.0f - PowByMultiplication(p.beta1, step);
    const float bc2 = 1.0f - PowByMultiplication(p.beta2, step);
    for (int64_t i = 0; i < n; ++i) {
      float& wi = rw.mutable_data<float>()[i];
      float& mi = rm.mutable_data<float>()[i];
      float& vi = rv.mutable_data<float>()[i];
      const float gp = std::fma(wd, wi, g.data<float>()[i]);
      const float mn = std::fma(p.beta1, mi, (1.0f - p.beta1) * gp);
      const float vn = std::fma(p.beta2, vi, (1.0f - p.beta2) * (gp * gp));
      const float upd = (mn / bc1) / (std::sqrt(vn / bc2) + p.epsilon);
      mi = Canonical(mn);
      vi = Canonical(vn);
      wi = Canonical(std::fma(-p.learning_rate, upd, wi));
    }
    return std::vector<Tensor>{rw, rm, rv};
  };
  out->push_back(std::move(oc));
}

// --- Hashing -----------------------------------------------------------------------------

void AddHash(std::vector<OpCase>* out, std::vector<std::pair<DType, Shape>> specs, uint64_t seed) {
  std::vector<Tensor> ts;
  std::string name = "HashTensors";
  for (auto& [d, s] : specs) {
    Tensor t = d == DType::kF32  ? RandomF32(s, seed++, -1, 1, true)
               : d == DType::kI8 ? RandomI8(s, seed++)
               : d == DType::kU8 ? RandomU8(s, seed++)
                                 : Zeros(d, s);
    if (d == DType::kI32 || d == DType::kI64 || d == DType::kU32) {
      Rng rng(seed++);
      for (uint8_t& b : t.mutable_bytes()) b = static_cast<uint8_t>(rng.Next());
    }
    name += " " + std::string(DTypeName(d)) + ShapeString(s);
    ts.push_back(std::move(t));
  }
  OpCase oc;
  oc.family = "HashTensors";
  oc.name = name;
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    std::vector<DeviceTensor> dts;
    for (const Tensor& t : ts) {
      PROBITY_ASSIGN_OR_RETURN(DeviceTensor d, be.Upload(t));
      dts.push_back(std::move(d));
    }
    std::vector<const DeviceTensor*> ptrs;
    for (const DeviceTensor& d : dts) ptrs.push_back(&d);
    std::vector<Hash256> hashes(ts.size());
    PROBITY_RETURN_IF_ERROR(be.HashTensors(hashes, ptrs));
    Tensor out = Zeros(DType::kU8, {static_cast<int64_t>(ts.size()), 32});
    for (size_t i = 0; i < hashes.size(); ++i) {
      std::memcpy(out.mutable_bytes().data() + 32 * i, hashes[i].data(), 32);
    }
    // The single-tensor entry point must agree with the batch one.
    PROBITY_ASSIGN_OR_RETURN(Hash256 first, be.HashTensor(dts[0]));
    if (first != hashes[0]) return Status::Internal("HashTensor differs from HashTensors");
    return std::vector<Tensor>{out};
  };
  oc.reference = [=]() {
    Tensor out = Zeros(DType::kU8, {static_cast<int64_t>(ts.size()), 32});
    for (size_t i = 0; i < ts.size(); ++i) {
      const Hash256 h = Sha256(EncodeTensor(ts[i]));
      std::memcpy(out.mutable_bytes().data() + 32 * i, h.data(), 32);
    }
    return std::vector<Tensor>{out};
  };
  out->push_back(std::move(oc));
}

// HashRowChunks over tensors of the given dtypes and shapes, each with its rows_per_chunk. The
// reference is the definition: each chunk copied into a tensor of its own and hashed whole.
struct ChunkSpec {
  DType dtype;
  Shape shape;
  int64_t rows_per_chunk;
};

Tensor RandomOf(DType d, const Shape& s, uint64_t seed) {
  if (d == DType::kF32) return RandomF32(s, seed, -1, 1, true);
  Tensor t = Zeros(d, s);
  Rng rng(seed);
  for (uint8_t& b : t.mutable_bytes()) b = static_cast<uint8_t>(rng.Next());
  return t;
}

void AddHashRowChunks(std::vector<OpCase>* out, std::vector<ChunkSpec> specs, uint64_t seed) {
  std::vector<Tensor> ts;
  std::string name = "HashRowChunks";
  int64_t total = 0;
  for (const ChunkSpec& c : specs) {
    ts.push_back(RandomOf(c.dtype, c.shape, seed++));
    name += " " + std::string(DTypeName(c.dtype)) + ShapeString(c.shape) + "/" +
            std::to_string(c.rows_per_chunk);
    total += RowChunkCount(c.shape, c.rows_per_chunk);
  }
  OpCase oc;
  oc.family = "HashRowChunks";
  oc.name = name;
  oc.run = [=](Backend& be) -> Result<std::vector<Tensor>> {
    std::vector<DeviceTensor> dts;
    for (const Tensor& t : ts) {
      PROBITY_ASSIGN_OR_RETURN(DeviceTensor d, be.Upload(t));
      dts.push_back(std::move(d));
    }
    std::vector<RowChunking> chunking;
    for (size_t i = 0; i < dts.size(); ++i) chunking.push_back({&dts[i], specs[i].rows_per_chunk});
    std::vector<Hash256> hashes(static_cast<size_t>(total));
    PROBITY_RETURN_IF_ERROR(be.HashRowChunks(hashes, chunking));
    Tensor out = Zeros(DType::kU8, {total, 32});
    for (size_t i = 0; i < hashes.size(); ++i) {
      std::memcpy(out.mutable_bytes().data() + 32 * i, hashes[i].data(), 32);
    }
    return std::vector<Tensor>{out};
  };
  oc.reference = [=]() {
    Tensor out = Zeros(DType::kU8, {total, 32});
    int64_t at = 0;
    auto put = [&](const Tensor& chunk) {
      const Hash256 h = Sha256(EncodeTensor(chunk));
      std::memcpy(out.mutable_bytes().data() + 32 * at++, h.data(), 32);
    };
    for (size_t i = 0; i < ts.size(); ++i) {
      const Tensor& t = ts[i];
      const int64_t r = specs[i].rows_per_chunk;
      if (t.rank() == 0 || t.shape()[0] <= r) {
        put(t);
        continue;
      }
      const int64_t rows = t.shape()[0];
      const size_t row_bytes = t.byte_size() / static_cast<size_t>(rows);
      for (int64_t begin = 0; begin < rows; begin += r) {
        Shape shape = t.shape();
        shape[0] = std::min(rows, begin + r) - begin;
        Tensor chunk = Zeros(t.dtype(), shape);
        std::memcpy(chunk.mutable_bytes().data(), t.bytes().data() + begin * row_bytes,
                    chunk.byte_size());
        put(chunk);
      }
    }
    return std::vector<Tensor>{out};
  };
  out->push_back(std::move(oc));
}

}  // namespace

std::vector<OpCase> AllOpCases() {
  std::vector<OpCase> cases;
  uint64_t seed = 1000;
  auto next = [&] { return seed += 17; };

  // GEMM: odd sizes around the 6 x 16 tiles and the 256-deep K blocks, every transpose,
  // every initialisation, training shapes (batch 64 through a 784-256-128-10 MLP), and one
  // dimension of 1000 with the others small, so that the naive reference stays fast.
  const int64_t sizes[] = {1, 7, 33};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes)
        AddGemmF32(&cases, m, n, k, (m + k) % 2 == 0, (n + k) % 2 == 1,
                   static_cast<int>((m + n + k) % 3), false, next());
  for (int t = 0; t < 4; ++t) {
    AddGemmF32(&cases, 1000, 7, 33, t & 1, t & 2, t % 3, false, next());
    AddGemmF32(&cases, 7, 1000, 33, t & 1, t & 2, (t + 1) % 3, false, next());
    AddGemmF32(&cases, 33, 7, 1000, t & 1, t & 2, (t + 2) % 3, false, next());
  }
  AddGemmF32(&cases, 64, 256, 784, false, false, 1, false, next());  // forward
  AddGemmF32(&cases, 784, 128, 64, true, false, 0, false, next());   // dW = X^T dY
  AddGemmF32(&cases, 64, 784, 256, false, true, 0, false, next());   // dX = dY W^T
  AddGemmF32(&cases, 97, 130, 513, false, false, 2, false, next());  // 3 K blocks, edges
  AddGemmF32(&cases, 37, 45, 300, true, true, 1, true, next());      // NaN, inf, -0, subnormal
  AddGemmF32(&cases, 5, 3, 0, false, false, 1, false, next());       // K = 0: C = bias
  AddGemmF32(&cases, 5, 3, 0, false, false, 0, false, next());       // K = 0: C = +0

  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes) AddGemmI8(&cases, m, n, k, (m + n) % 2 == 0, k % 2 == 1, next());
  AddGemmI8(&cases, 1000, 33, 7, false, false, next());
  AddGemmI8(&cases, 64, 70, 1030, true, false, next());
  AddGemmI8(&cases, 65, 64, 1031, false, true, next());

  const std::vector<Shape> unary_shapes = {{1}, {7}, {33, 7}, {1000}, {3, 5, 1000}};
  for (const char* f : {"Relu", "ReluBackward", "Gelu", "GeluBackward"}) {
    for (const Shape& s : unary_shapes) AddElementwise(&cases, f, s, false, next(), -6, 6);
    AddElementwise(&cases, f, {70000}, false, next(), -12, 12);  // several threads' chunks
    AddElementwise(&cases, f, {257}, true, next(), -3, 3);
  }
  for (const Shape& s : std::vector<Shape>{{1, 1}, {7, 10}, {33, 1}, {2, 1000}, {1000, 7}}) {
    AddElementwise(&cases, "Softmax", s, false, next(), -20, 20);
  }
  AddElementwise(&cases, "Softmax", {9, 33}, true, next(), -3, 3);

  for (const Shape& s : std::vector<Shape>{{1}, {7, 33}, {1000, 10}, {2, 3, 129}}) {
    AddBiasAdd(&cases, s, next());
    AddColumnSums(&cases, s, false, next());
  }
  AddColumnSums(&cases, {1000, 300}, false, next());
  AddColumnSums(&cases, {33, 70}, true, next());
  AddU8ToF32(&cases, {7}, next());
  AddU8ToF32(&cases, {64, 784}, next());

  for (auto [r, c] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {1, 10}, {7, 10}, {64, 10}, {33, 1000}, {1000, 7}}) {
    AddCrossEntropy(&cases, r, c, true, false, next());
    AddCrossEntropy(&cases, r, c, false, false, next());
  }
  AddCrossEntropy(&cases, 17, 9, true, true, next());

  for (const Shape& s : std::vector<Shape>{{1}, {7, 10}, {1000, 10}, {3, 33}}) {
    AddArgmax(&cases, s, false, next());
    AddArgmax(&cases, s, true, next());
  }

  AddGatherRows(&cases, DType::kU8, {100, 28, 28}, 64, next());
  AddGatherRows(&cases, DType::kF32, {7}, 33, next());
  AddGatherRows(&cases, DType::kF32, {33, 5}, 1, next());

  const ConvCase convs[] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, false},    // everything 1
      {2, 1, 7, 7, 3, 3, 3, 1, 1, true},     // padding 1, odd image
      {3, 2, 9, 8, 4, 5, 5, 1, 2, true},     // 5x5, padding 2, non-square
      {2, 3, 11, 9, 5, 3, 3, 2, 1, true},    // stride 2
      {1, 4, 7, 7, 2, 3, 2, 3, 0, false},    // stride 3, non-square kernel
      {4, 8, 14, 14, 16, 3, 3, 1, 1, true},  // a CNN's second layer, small
      {5, 1, 28, 28, 8, 5, 5, 1, 2, true},   // a CNN's first layer on MNIST images
  };
  for (const ConvCase& c : convs) AddConv(&cases, c, next());

  for (const Shape& s :
       std::vector<Shape>{{1, 1, 2, 2}, {2, 3, 7, 9}, {3, 4, 28, 28}, {1, 2, 1, 5}}) {
    AddMaxPool(&cases, s, false, next());
    AddMaxPool(&cases, s, true, next());
  }

  for (int64_t n : {1, 7, 33, 1000, 70001}) {
    AddSgd(&cases, n, 0.0f, next());
    AddAdam(&cases, n, 1, 0.0f, next());
  }
  AddSgd(&cases, 257, 5e-4f, next());
  AddAdam(&cases, 257, 1000, 1e-2f, next());
  AddAdam(&cases, 33, 7, 0.0f, next());

  AddHash(&cases, {{DType::kF32, {}}}, next());
  AddHash(&cases,
          {{DType::kF32, {7, 33}},
           {DType::kU8, {0}},
           {DType::kI8, {1}},
           {DType::kI32, {55}},
           {DType::kU32, {13, 1}},
           {DType::kI64, {3, 3}},
           {DType::kU8, {1000, 7}}},
          next());
  AddHash(&cases,
          {{DType::kU8, {55}},
           {DType::kU8, {56}},
           {DType::kU8, {63}},
           {DType::kU8, {64}},
           {DType::kU8, {119}},
           {DType::kU8, {120}},
           {DType::kU8, {128}}},
          next());

  // Row chunks: 1, 7, 33 and 1000 rows cut at and around chunk boundaries; a rank-0, an empty
  // and a one-chunk tensor (hashed whole); chunks at every alignment (u8 rows of odd length);
  // runs of equal chunks (what the cpu backend hashes 16 at a time) whose messages end around
  // the 64-byte padding boundary (16-byte header + 39, 40, 47, 48 bytes); the shapes of a
  // training state (768 f32 per row, 2 rows per chunk: 8,192 bytes).
  AddHashRowChunks(&cases,
                   {{DType::kF32, {1, 5}, 1},
                    {DType::kF32, {7, 3}, 2},
                    {DType::kF32, {7, 9}, 7},
                    {DType::kF32, {7, 9}, 1000},
                    {DType::kF32, {33, 65}, 8},
                    {DType::kF32, {1000, 3}, 33},
                    {DType::kF32, {}, 3},
                    {DType::kF32, {0, 4}, 2},
                    {DType::kI64, {33, 3}, 4},
                    {DType::kI8, {1000}, 7}},
                   next());
  AddHashRowChunks(&cases,
                   {{DType::kU8, {33, 7}, 5},
                    {DType::kU8, {1000, 33}, 249},
                    {DType::kU8, {7, 2, 3}, 3},
                    {DType::kI32, {33, 5, 3}, 2}},
                   next());
  AddHashRowChunks(&cases,
                   {{DType::kU8, {100, 39}, 1},
                    {DType::kU8, {100, 40}, 1},
                    {DType::kU8, {100, 47}, 1},
                    {DType::kU8, {100, 48}, 1},
                    {DType::kU8, {33, 1}, 1}},
                   next());
  AddHashRowChunks(&cases,
                   {{DType::kF32, {33, 768}, 2},
                    {DType::kF32, {33}, 2048},
                    {DType::kF32, {1000, 7}, 293},
                    {DType::kF32, {65, 1000}, 2}},
                   next());
  return cases;
}

std::vector<std::string> OpFamilies() {
  std::vector<std::string> families;
  for (const OpCase& c : AllOpCases()) {
    if (families.empty() || families.back() != c.family) families.push_back(c.family);
  }
  return families;
}

bool SameBytes(const std::vector<Tensor>& a, const std::vector<Tensor>& b, std::string* why) {
  if (a.size() != b.size()) {
    *why = "output counts differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
    return false;
  }
  for (size_t t = 0; t < a.size(); ++t) {
    if (a[t].dtype() != b[t].dtype() || a[t].shape() != b[t].shape()) {
      *why = "output " + std::to_string(t) + ": " + std::string(DTypeName(a[t].dtype())) +
             ShapeString(a[t].shape()) + " vs " + std::string(DTypeName(b[t].dtype())) +
             ShapeString(b[t].shape());
      return false;
    }
    if (a[t] == b[t]) continue;
    const size_t es = DTypeSize(a[t].dtype());
    for (int64_t i = 0; i < a[t].numel(); ++i) {
      const uint8_t* pa = a[t].bytes().data() + i * es;
      const uint8_t* pb = b[t].bytes().data() + i * es;
      if (std::memcmp(pa, pb, es) == 0) continue;
      *why = "output " + std::to_string(t) + " element " + std::to_string(i);
      if (a[t].dtype() == DType::kF32) {
        float fa, fb;
        std::memcpy(&fa, pa, 4);
        std::memcpy(&fb, pb, 4);
        char buf[128];
        std::snprintf(buf, sizeof(buf), ": %a (0x%08x) vs %a (0x%08x)", fa, detmath::FloatBits(fa),
                      fb, detmath::FloatBits(fb));
        *why += buf;
      } else if (a[t].dtype() == DType::kI32) {
        int32_t ia, ib;
        std::memcpy(&ia, pa, 4);
        std::memcpy(&ib, pb, 4);
        *why += ": " + std::to_string(ia) + " vs " + std::to_string(ib);
      }
      return false;
    }
  }
  return true;
}

}  // namespace probity::workloads::testing
