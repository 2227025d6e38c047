// Our Exp, Log and Tanh are built from basic IEEE operations so that every backend computes
// the same bits (elementwise_math.h). This test documents that they are also accurate: over a
// sweep of about a million floats spread across each function's whole domain, each stays
// within a small number of ulps of the correctly rounded result (double-precision libm,
// rounded to float), and special values come out as IEEE says.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "elementwise_math.h"

using namespace probity::workloads::detmath;

namespace {

// Error of `got` in units in the last place of the float nearest to `want`.
double UlpError(float got, double want) {
  const float rounded = static_cast<float>(want);
  if (std::isinf(rounded) || std::isinf(got)) return got == rounded ? 0.0 : 1e9;
  if (want == 0.0) return got == 0.0f ? 0.0 : 1e9;
  int e;
  std::frexp(want, &e);
  double ulp = std::ldexp(1.0, e - 24);
  ulp = std::max(ulp, std::ldexp(1.0, -149));  // subnormal spacing
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

template <typename F, typename R>
double MaxError(F f, R reference, float lo, float hi, float* worst) {
  double max_err = 0;
  // Every 4099th bit pattern (about a million values), kept if inside [lo, hi].
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 4099) {
    const float x = BitsFloat(static_cast<uint32_t>(bits));
    if (!(x >= lo && x <= hi)) continue;
    const double err = UlpError(f(x), reference(static_cast<double>(x)));
    if (err > max_err) max_err = err, *worst = x;
  }
  return max_err;
}

}  // namespace

TEST_CASE("Exp is within 1 ulp of exp over its whole range") {
  float worst = 0;
  const double err = MaxError([](float x) { return Exp(x); }, [](double x) { return std::exp(x); },
                              -110.0f, 90.0f, &worst);
  INFO("worst at " << worst);
  CHECK(err <= 1.0);
  CHECK(Exp(0.0f) == 1.0f);
  CHECK(Exp(-0.0f) == 1.0f);
  CHECK(std::isinf(Exp(89.0f)));
  CHECK(Exp(-104.5f) == 0.0f);
  CHECK(Exp(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(std::isinf(Exp(std::numeric_limits<float>::infinity())));
  CHECK(FloatBits(Exp(std::nanf(""))) == kCanonicalNaNBits);
  CHECK(Exp(-100.0f) > 0.0f);  // subnormal results are kept, not flushed
}

TEST_CASE("Log is within 1 ulp of log over every positive float") {
  float worst = 0;
  const double err = MaxError([](float x) { return Log(x); }, [](double x) { return std::log(x); },
                              1e-45f, std::numeric_limits<float>::max(), &worst);
  INFO("worst at " << worst);
  CHECK(err <= 1.0);
  CHECK(Log(1.0f) == 0.0f);
  CHECK(std::isinf(Log(0.0f)));
  CHECK(Log(0.0f) < 0.0f);
  CHECK(FloatBits(Log(-1.0f)) == kCanonicalNaNBits);
  CHECK(std::isinf(Log(std::numeric_limits<float>::infinity())));
  CHECK(std::fabs(Log(1e-45f) - (-103.27893f)) < 1e-4f);  // smallest subnormal
}

TEST_CASE("Tanh is within 2 ulp of tanh everywhere") {
  float worst = 0;
  const double err =
      MaxError([](float x) { return Tanh(x); }, [](double x) { return std::tanh(x); },
               -std::numeric_limits<float>::max(), std::numeric_limits<float>::max(), &worst);
  INFO("worst at " << worst);
  CHECK(err <= 2.0);
  CHECK(Tanh(0.0f) == 0.0f);
  CHECK(std::signbit(Tanh(-0.0f)));
  CHECK(Tanh(20.0f) == 1.0f);
  CHECK(Tanh(-std::numeric_limits<float>::infinity()) == -1.0f);
  CHECK(Tanh(1e-30f) == 1e-30f);
}

TEST_CASE("GELU and its gradient match the double-precision formula closely") {
  // Absolute error relative to max(1, |y|): for negative x, 1 + tanh(u) cancels, and any
  // float implementation of the tanh form loses relative accuracy there.
  double max_err = 0, max_grad = 0;
  for (float x = -8.0f; x <= 8.0f; x += 0.001953125f) {
    const double xd = x;
    const double u = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);
    const double t = std::tanh(u);
    const double y = 0.5 * xd * (1 + t);
    const double dy =
        0.5 * (1 + t) + 0.5 * xd * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * xd * xd);
    max_err = std::max(max_err, std::fabs(GeluForward(x) - y) / std::max(1.0, std::fabs(y)));
    max_grad = std::max(max_grad, std::fabs(GeluGrad(1.0f, x) - dy));
  }
  CHECK(max_err < 1e-6);
  CHECK(max_grad < 1e-6);
}
