// Host tensors, the canonical encoding (a golden vector), strict decoding and TensorHash.
#include "probity/workloads/tensor.h"

#include <doctest/doctest.h>

#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::workloads;

TEST_CASE("tensor encoding: golden bytes of a 2x2 f32 tensor") {
  Tensor t = Tensor::FromVector<float>({2, 2}, {1.0f, -2.0f, 0.5f, -0.0f}).value();
  const std::string want =
      "70726274"  // "prbt"
      "01"
      "01"
      "02"
      "00"  // version 1, f32, rank 2, reserved
      "0200000000000000"
      "0200000000000000"  // dims
      "0000803f"
      "000000c0"
      "0000003f"
      "00000080";  // 1, -2, 0.5, -0 (little-endian)
  CHECK(ToHex(EncodeTensor(t)) == want);
  CHECK(TensorHash(t) == Sha256(EncodeTensor(t)));
  CHECK(EncodeTensorHeader(DType::kF32, {2, 2}).size() == 24);
}

TEST_CASE("tensor encoding: round trip of every dtype and rank 0..8") {
  for (uint8_t code = 1; code <= 6; ++code) {
    const DType d = static_cast<DType>(code);
    for (int rank = 0; rank <= kMaxRank; ++rank) {
      Shape shape(rank, 1);
      if (rank > 0) shape[0] = 3;
      if (rank > 1) shape[rank - 1] = 2;
      Tensor t = Tensor::Zeros(d, shape).value();
      for (size_t i = 0; i < t.byte_size(); ++i)
        t.mutable_bytes()[i] = static_cast<uint8_t>(i * 7 + code);
      Bytes enc = EncodeTensor(t);
      CHECK(enc.size() == 8 + 8 * static_cast<size_t>(rank) + t.byte_size());
      Result<Tensor> back = DecodeTensor(enc);
      REQUIRE(back.ok());
      CHECK(*back == t);
      CHECK(TensorHash(*back) == TensorHash(t));
    }
  }
  // Zero elements are a valid tensor.
  Tensor empty = Tensor::Zeros(DType::kU8, {0, 5}).value();
  CHECK(DecodeTensor(EncodeTensor(empty)).ok());
  // A default tensor is an f32 scalar 0.
  Tensor scalar;
  CHECK(scalar.rank() == 0);
  CHECK(scalar.numel() == 1);
  CHECK(scalar.data<float>()[0] == 0.0f);
}

TEST_CASE("tensor encoding: strict decoding refuses every deviation with kCorruption") {
  Tensor t = Tensor::FromVector<int32_t>({3}, {1, 2, 3}).value();
  const Bytes good = EncodeTensor(t);
  auto corrupt = [&](auto edit) {
    Bytes b = good;
    edit(b);
    Result<Tensor> r = DecodeTensor(b);
    CHECK(!r.ok());
    if (!r.ok()) CHECK(r.status().code() == Code::kCorruption);
    return r.ok() ? std::string() : r.status().message();
  };
  CHECK(corrupt([](Bytes& b) { b[0] = 'x'; }).find("magic") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[4] = 2; }).find("version") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[5] = 0; }).find("dtype") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[5] = 7; }).find("dtype") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[6] = 9; }).find("rank") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[7] = 1; }).find("reserved") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[8] = 4; }).find("truncated") != std::string::npos);  // dim 4
  CHECK(corrupt([](Bytes& b) { b[8] = 2; }).find("trailing") != std::string::npos);   // dim 2
  CHECK(corrupt([](Bytes& b) { b.pop_back(); }).find("truncated") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b.push_back(0); }).find("trailing") != std::string::npos);
  CHECK(corrupt([](Bytes& b) { b[15] = 0x80; }).find("range") != std::string::npos);  // 2^63
  corrupt([](Bytes& b) { b.resize(10); });
  corrupt([](Bytes& b) { b.clear(); });
  // Dims whose product overflows: each dim is within kMaxDim, the product is not.
  Bytes huge = EncodeTensorHeader(DType::kF32, {int64_t{1} << 30, int64_t{1} << 30});
  Result<Tensor> r = DecodeTensor(huge);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kCorruption);
}

TEST_CASE("tensor encoding: ReadTensor reads a sequence and stops after each tensor") {
  Tensor a = Tensor::FromVector<float>({2}, {1.5f, 2.5f}).value();
  Tensor b = Tensor::FromVector<uint8_t>({3, 1}, {7, 8, 9}).value();
  ByteWriter w;
  WriteTensor(a, &w);
  WriteTensor(b, &w);
  const Bytes all = w.Take();
  ByteReader r(all);
  Result<Tensor> ra = ReadTensor(&r);
  Result<Tensor> rb = ReadTensor(&r);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(*ra == a);
  CHECK(*rb == b);
  CHECK(r.done());
  CHECK(!ReadTensor(&r).ok());
}

TEST_CASE("tensor: shapes, reshape and equality are exact") {
  CHECK(!Tensor::Zeros(DType::kF32, {-1}).ok());
  CHECK(!Tensor::Zeros(DType::kF32, Shape(9, 1)).ok());
  CHECK(!Tensor::Zeros(DType::kF32, {kMaxDim + 1}).ok());
  CHECK(!Tensor::Zeros(static_cast<DType>(0), {1}).ok());
  CHECK(!Tensor::FromVector<float>({2, 2}, {1, 2, 3}).ok());
  Tensor t = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6}).value();
  CHECK(!t.Reshape({4}).ok());
  CHECK(t.Reshape({3, 2}).ok());
  CHECK(t.shape() == Shape{3, 2});
  Tensor u = Tensor::FromVector<float>({3, 2}, {1, 2, 3, 4, 5, 6}).value();
  CHECK(t == u);
  u.mutable_data<float>()[0] = 1.0000001f;
  CHECK(!(t == u));
  Tensor z1 = Tensor::FromVector<float>({1}, {0.0f}).value();
  Tensor z2 = Tensor::FromVector<float>({1}, {-0.0f}).value();
  CHECK(!(z1 == z2));  // bitwise: -0 is not +0
  CHECK(TensorHash(z1) != TensorHash(z2));
  CHECK(ParseDType("i8").value() == DType::kI8);
  CHECK(!ParseDType("f16").ok());
  Tensor copy = t;
  CHECK(copy == t);
  Tensor moved = std::move(copy);
  CHECK(moved == t);
}
