// Bad calls get a clear Status (naming the op and the shapes) and change nothing; never a
// crash. Checked on the cpu backend; the checks live in backend.cc, shared by every backend.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "probity/workloads/backend.h"

using namespace probity;
using namespace probity::workloads;

namespace {

std::unique_ptr<Backend> Cpu() { return CreateBackend("cpu", {.threads = 2}).value(); }

DeviceTensor F32(Backend& be, Shape s, float fill = 0.0f) {
  Tensor t = Tensor::Zeros(DType::kF32, s).value();
  for (float& v : t.mutable_data<float>()) v = fill;
  return be.Upload(t).value();
}

void ExpectInvalid(const Status& s, const char* fragment) {
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_MESSAGE(s.message().find(fragment) != std::string::npos, s.message());
}

bool AllEqual(Backend& be, const DeviceTensor& t, float v) {
  Tensor h = be.Download(t).value();
  for (float x : h.data<float>()) {
    if (x != v) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("CreateBackend: unknown names, bad options, cuda without CUDA") {
  auto tpu = CreateBackend("tpu");
  REQUIRE(!tpu.ok());
  CHECK(tpu.status().code() == Code::kInvalidArgument);
  CHECK(!CreateBackend("cpu", {.threads = -1}).ok());
  auto cuda = CreateBackend("cuda");
  if (!cuda.ok()) {
    CHECK(cuda.status().code() == Code::kUnsupported);
    MESSAGE("cuda: " << cuda.status().message());
  }
  std::vector<std::string> names = AvailableBackends();
  REQUIRE(!names.empty());
  CHECK(names[0] == "cpu");
  CHECK((std::find(names.begin(), names.end(), "cuda") != names.end()) == cuda.ok());
  auto cpu = CreateBackend("cpu", {.threads = 1});
  REQUIRE(cpu.ok());
  CHECK((*cpu)->name() == "cpu");
  CHECK((*cpu)->Describe().find("1 thread") != std::string::npos);
}

TEST_CASE("GemmF32: shape, dtype, alias and option errors leave C unchanged") {
  auto be = Cpu();
  DeviceTensor a = F32(*be, {4, 3}, 1), b = F32(*be, {3, 5}, 1), c = F32(*be, {4, 5}, 7);
  DeviceTensor bad_b = F32(*be, {4, 5}, 1), bias = F32(*be, {5}), bad_bias = F32(*be, {4});
  ExpectInvalid(be->GemmF32(&c, a, bad_b), "inner dimensions differ");
  ExpectInvalid(be->GemmF32(&c, a, b, {.transpose_a = true}), "inner dimensions differ");
  DeviceTensor c_wrong = F32(*be, {5, 4}, 7);
  ExpectInvalid(be->GemmF32(&c_wrong, a, b), "C must have shape [4, 5]");
  ExpectInvalid(be->GemmF32(&c, a, b, {}, &bad_bias), "bias must have shape [5]");
  ExpectInvalid(be->GemmF32(&c, a, b, {.accumulate = true}, &bias), "mutually exclusive");
  DeviceTensor sq = F32(*be, {3, 3}, 1);
  ExpectInvalid(be->GemmF32(&sq, sq, sq), "must not be the same tensor");
  DeviceTensor i8 = be->Allocate(DType::kI8, {4, 3}).value();
  ExpectInvalid(be->GemmF32(&c, i8, b), "A must be f32");
  DeviceTensor r3 = F32(*be, {1, 4, 3});
  ExpectInvalid(be->GemmF32(&c, r3, b), "rank 2");
  DeviceTensor empty;
  ExpectInvalid(be->GemmF32(&c, empty, b), "empty DeviceTensor");
  auto other = Cpu();
  DeviceTensor foreign = F32(*other, {4, 3}, 1);
  ExpectInvalid(be->GemmF32(&c, foreign, b), "another backend");
  CHECK(AllEqual(*be, c, 7));
  CHECK(be->GemmF32(&c, a, b).ok());
  CHECK(AllEqual(*be, c, 3));
  // Zero-sized outputs are fine and write nothing.
  DeviceTensor a0 = F32(*be, {0, 3}), c0 = F32(*be, {0, 5});
  CHECK(be->GemmF32(&c0, a0, b).ok());
}

TEST_CASE("GemmI8: K beyond the exact int32 range and accumulate are refused") {
  auto be = Cpu();
  DeviceTensor a = be->Allocate(DType::kI8, {1, 131072}).value();
  DeviceTensor b = be->Allocate(DType::kI8, {131072, 1}).value();
  DeviceTensor c = be->Allocate(DType::kI32, {1, 1}).value();
  ExpectInvalid(be->GemmI8(&c, a, b), "131071");
  DeviceTensor a2 = be->Allocate(DType::kI8, {1, 4}).value();
  DeviceTensor b2 = be->Allocate(DType::kI8, {4, 1}).value();
  ExpectInvalid(be->GemmI8(&c, a2, b2, {.accumulate = true}), "accumulate");
  DeviceTensor cf = F32(*be, {1, 1});
  ExpectInvalid(be->GemmI8(&cf, a2, b2), "C must be i32");
  CHECK(be->GemmI8(&c, a2, b2).ok());
}

TEST_CASE("CrossEntropy: a label out of range is refused before anything is written") {
  auto be = Cpu();
  DeviceTensor logits = F32(*be, {3, 4}, 0.5f);
  DeviceTensor loss = F32(*be, {}, 9), grad = F32(*be, {3, 4}, 9);
  for (int32_t bad : {4, -1, 1 << 30}) {
    Tensor labels = Tensor::FromVector<int32_t>({3}, {0, bad, 2}).value();
    DeviceTensor dl = be->Upload(labels).value();
    ExpectInvalid(be->CrossEntropy(&loss, &grad, logits, dl), "outside [0, 4)");
  }
  CHECK(AllEqual(*be, loss, 9));
  CHECK(AllEqual(*be, grad, 9));
  DeviceTensor f_labels = F32(*be, {3});
  ExpectInvalid(be->CrossEntropy(&loss, &grad, logits, f_labels), "labels must be i32");
  DeviceTensor loss_wrong = F32(*be, {1});
  DeviceTensor ok_labels = be->Upload(Tensor::FromVector<int32_t>({3}, {0, 3, 2}).value()).value();
  ExpectInvalid(be->CrossEntropy(&loss_wrong, nullptr, logits, ok_labels),
                "loss must have shape []");
  DeviceTensor no_rows = F32(*be, {0, 4});
  DeviceTensor no_labels = be->Allocate(DType::kI32, {0}).value();
  ExpectInvalid(be->CrossEntropy(&loss, nullptr, no_rows, no_labels), "at least one row");
  CHECK(be->CrossEntropy(&loss, &grad, logits, ok_labels).ok());
  // Uniform logits: loss = log(4).
  CHECK(be->Download(loss).value().data<float>()[0] == doctest::Approx(1.3862944f));
}

TEST_CASE("GatherRows, Argmax, Softmax, BiasAdd, ColumnSums, U8ToF32: shape errors") {
  auto be = Cpu();
  DeviceTensor x = F32(*be, {5, 3}, 1), y = F32(*be, {2, 3});
  const int64_t rows_bad[] = {0, 5};
  ExpectInvalid(be->GatherRows(&y, x, rows_bad), "row index 5 at position 1");
  const int64_t rows_neg[] = {-1, 0};
  ExpectInvalid(be->GatherRows(&y, x, rows_neg), "outside [0, 5)");
  const int64_t rows3[] = {0, 1, 2};
  ExpectInvalid(be->GatherRows(&y, x, rows3), "y must have shape [3, 3]");
  CHECK(AllEqual(*be, y, 0));
  DeviceTensor idx = be->Allocate(DType::kI32, {5}).value();
  DeviceTensor no_cols = F32(*be, {5, 0});
  ExpectInvalid(be->Argmax(&idx, no_cols), "rows of x are empty");
  DeviceTensor idx_wrong = be->Allocate(DType::kI32, {3}).value();
  ExpectInvalid(be->Argmax(&idx_wrong, x), "out must have shape [5]");
  DeviceTensor scalar = F32(*be, {});
  ExpectInvalid(be->Softmax(&scalar, scalar), "rank >= 1");
  DeviceTensor bias = F32(*be, {5});
  ExpectInvalid(be->BiasAdd(&x, x, bias), "bias must have shape [3]");
  DeviceTensor sums = F32(*be, {5});
  ExpectInvalid(be->ColumnSums(&sums, x), "out must have shape [3]");
  DeviceTensor u8 = be->Allocate(DType::kU8, {5, 3}).value();
  ExpectInvalid(be->U8ToF32(&x, u8, std::nanf(""), 0), "scale must be finite");
  ExpectInvalid(be->U8ToF32(&x, x, 1, 0), "x must be u8");
  ExpectInvalid(be->Relu(&y, x), "y must have shape [5, 3]");
}

TEST_CASE("Conv2d and pooling: geometry errors") {
  auto be = Cpu();
  DeviceTensor x = F32(*be, {1, 2, 4, 4}), w = F32(*be, {3, 2, 5, 5}), y = F32(*be, {1, 3, 2, 2});
  ExpectInvalid(be->Conv2d(&y, x, w, nullptr, {}), "larger than the padded input");
  DeviceTensor w_ch = F32(*be, {3, 1, 3, 3});
  ExpectInvalid(be->Conv2d(&y, x, w_ch, nullptr, {}), "does not match the channels");
  DeviceTensor w3 = F32(*be, {3, 2, 3, 3});
  ExpectInvalid(be->Conv2d(&y, x, w3, nullptr, {.stride = 0}), "stride");
  ExpectInvalid(be->Conv2d(&y, x, w3, nullptr, {.padding = -1}), "padding");
  DeviceTensor y_wrong = F32(*be, {1, 3, 4, 4});
  ExpectInvalid(be->Conv2d(&y_wrong, x, w3, nullptr, {}), "y must have shape [1, 3, 2, 2]");
  DeviceTensor bias_wrong = F32(*be, {2});
  ExpectInvalid(be->Conv2d(&y, x, w3, &bias_wrong, {}), "bias must have shape [3]");
  CHECK(be->Conv2d(&y, x, w3, nullptr, {}).ok());
  DeviceTensor dw_wrong = F32(*be, {3, 2, 3, 2});
  ExpectInvalid(be->Conv2dBackward(nullptr, &dw_wrong, nullptr, y, x, w3, {}), "dw must have");
  ExpectInvalid(be->Conv2dBackward(nullptr, nullptr, nullptr, x, x, w3, {}), "dy must have");
  DeviceTensor p = F32(*be, {1, 2, 2, 2}), p_wrong = F32(*be, {1, 2, 3, 2});
  ExpectInvalid(be->MaxPool2x2(&p_wrong, x), "y must have shape [1, 2, 2, 2]");
  DeviceTensor flat = F32(*be, {16});
  ExpectInvalid(be->MaxPool2x2(&p, flat), "rank 4");
  ExpectInvalid(be->MaxPool2x2Backward(&x, p_wrong, x), "dy must have shape");
}

TEST_CASE("optimisers: bad hyperparameters and aliasing") {
  auto be = Cpu();
  DeviceTensor w = F32(*be, {4}, 1), m = F32(*be, {4}), v = F32(*be, {4}), g = F32(*be, {4}, 1);
  ExpectInvalid(be->AdamUpdate(&w, &m, &v, g, {.step = 0}), "step");
  ExpectInvalid(be->AdamUpdate(&w, &m, &v, g, {.beta1 = 1.0f}), "beta1");
  ExpectInvalid(be->AdamUpdate(&w, &m, &v, g, {.epsilon = 0.0f}), "epsilon");
  ExpectInvalid(be->AdamUpdate(&w, &m, &m, g, {}), "must not be the same tensor");
  ExpectInvalid(be->SgdMomentumUpdate(&w, &v, g, {.learning_rate = HUGE_VALF}), "learning_rate");
  DeviceTensor g5 = F32(*be, {5});
  ExpectInvalid(be->SgdMomentumUpdate(&w, &v, g5, {}), "grad must have shape [4]");
  CHECK(AllEqual(*be, w, 1));
  CHECK(be->SgdMomentumUpdate(&w, &v, g, {.learning_rate = 0.5f, .momentum = 0.0f}).ok());
  CHECK(AllEqual(*be, w, 0.5f));
  CHECK(PowByMultiplication(0.5f, 3) == 0.125f);
  CHECK(PowByMultiplication(0.9f, 0) == 1.0f);
}

TEST_CASE("memory: upload, download, copy, reshape and hashing errors") {
  auto be = Cpu();
  DeviceTensor t = F32(*be, {2, 3}, 4);
  Tensor wrong = Tensor::Zeros(DType::kF32, {3, 2}).value();
  ExpectInvalid(be->Upload(&t, wrong), "does not match");
  CHECK(AllEqual(*be, t, 4));
  DeviceTensor u = F32(*be, {6});
  ExpectInvalid(be->Copy(&u, t), "does not match");
  CHECK(!t.Reshape({4}).ok());
  CHECK(t.Reshape({6}).ok());
  CHECK(be->Copy(&u, t).ok());
  CHECK(AllEqual(*be, u, 4));
  CHECK(be->SetZero(&u).ok());
  CHECK(AllEqual(*be, u, 0));
  DeviceTensor empty;
  CHECK(!be->Download(empty).ok());
  CHECK(!empty.Reshape({1}).ok());
  std::vector<Hash256> one(1);
  std::vector<const DeviceTensor*> two = {&t, &u};
  ExpectInvalid(be->HashTensors(one, two), "2 tensors but room for 1");
  std::vector<const DeviceTensor*> null_one = {nullptr};
  ExpectInvalid(be->HashTensors(one, null_one), "null tensor");
  CHECK(!be->Allocate(DType::kF32, {-3}).ok());
  // HashRowChunks: a digest count that does not match the chunks, a chunk size below 1, a null
  // tensor or one of another backend are refused, and nothing is written.
  DeviceTensor rows = F32(*be, {5, 3}, 1);
  CHECK(RowChunkCount(rows.shape(), 2) == 3);
  CHECK(RowChunkCount(rows.shape(), 5) == 1);
  CHECK(RowChunkCount({}, 2) == 1);
  CHECK(RowChunkCount({0, 4}, 2) == 1);
  CHECK(RowChunkCount(rows.shape(), 0) == 0);
  Hash256 untouched;
  untouched.fill(0x5a);
  std::vector<Hash256> three(3, untouched), two_digests(2, untouched);
  const RowChunking by2[] = {{&rows, 2}};
  ExpectInvalid(be->HashRowChunks(two_digests, by2), "3 chunks but there is room for 2");
  const RowChunking by0[] = {{&rows, 0}};
  ExpectInvalid(be->HashRowChunks(three, by0), "rows_per_chunk must be >= 1");
  const RowChunking null_chunks[] = {{nullptr, 2}};
  ExpectInvalid(be->HashRowChunks(three, null_chunks), "null tensor");
  auto other = Cpu();
  DeviceTensor foreign = F32(*other, {5, 3}, 1);
  const RowChunking foreign_chunks[] = {{&foreign, 2}};
  ExpectInvalid(be->HashRowChunks(three, foreign_chunks), "belongs to another backend");
  for (const Hash256& h : three) CHECK(h == untouched);
  for (const Hash256& h : two_digests) CHECK(h == untouched);
  CHECK(be->HashRowChunks(three, by2).ok());
  CHECK(three[2] == TensorHash(Tensor::FromVector<float>({1, 3}, {1, 1, 1}).value()));
  // The hash on the backend is the hash of the downloaded tensor.
  CHECK(be->HashTensor(t).value() == TensorHash(be->Download(t).value()));
  // Moving a DeviceTensor transfers ownership; the moved-from one is empty.
  DeviceTensor moved = std::move(t);
  CHECK(t.empty());
  CHECK(!moved.empty());
}
