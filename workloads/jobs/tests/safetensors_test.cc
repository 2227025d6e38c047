#include "probity/workloads/safetensors.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/model.h"

using namespace probity;
using namespace probity::workloads;

namespace {
Tensor F32(Shape shape, float start) {
  int64_t n = *ShapeElements(shape);
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + 0.25f * static_cast<float>(i);
  return *Tensor::FromVector<float>(shape, v);
}

// A file as another writer might produce it: metadata first, keys unsorted, padded header.
Bytes Handmade(const std::string& header_json, const Bytes& data) {
  ByteWriter w;
  w.U64(header_json.size());
  w.Raw(AsBytes(header_json));
  w.Raw(data);
  return w.Take();
}

TensorMap MlpModel(std::vector<uint32_t> hidden) {
  ClassifierArch arch{Architecture::kMlp, hidden, {}};
  TensorMap m;
  float s = 0;
  for (const auto& [name, shape] : arch.ParameterShapes()) m[name] = F32(shape, s += 1);
  return m;
}

std::string Err(ByteView b) {
  auto r = DecodeSafetensors(b);
  REQUIRE(!r.ok());
  return r.status().ToString();
}
}  // namespace

TEST_CASE("safetensors: tensors of every dtype round-trip through the canonical writer") {
  TensorMap m;
  m["b.weight"] = F32({2, 3}, 1);
  m["a.scalar"] = F32({}, -2);
  m["empty"] = *Tensor::Zeros(DType::kF32, {0, 4});
  m["ids"] = *Tensor::FromVector<int64_t>({3}, std::vector<int64_t>{-1, 0, 1LL << 40});
  m["pix"] = *Tensor::FromVector<uint8_t>({2, 2}, std::vector<uint8_t>{0, 255, 7, 9});
  m["q"] = *Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{-128, 127});
  m["u"] = *Tensor::FromVector<uint32_t>({1}, std::vector<uint32_t>{0xdeadbeef});
  m["i"] = *Tensor::FromVector<int32_t>({1}, std::vector<int32_t>{-5});
  auto enc = EncodeSafetensors(m);
  REQUIRE(enc.ok());
  CHECK(GetU64LE(enc->data()) % 8 == 0);
  auto dec = DecodeSafetensors(*enc);
  REQUIRE(dec.ok());
  CHECK(*dec == m);
  CHECK(*EncodeSafetensors(*dec) == *enc);
}

TEST_CASE("safetensors: a file from another writer (metadata, any key order, escapes) is read") {
  Bytes data(4 * 3 + 2);
  float vals[3] = {1.5f, -2.0f, 0.0f};
  std::memcpy(data.data(), vals, 12);
  data[12] = 3;
  data[13] = 4;
  std::string header =
      R"({"__metadata__":{"format":"pt"},"z\u00e9\n":{"dtype":"U8","shape":[2],)"
      R"("data_offsets":[12,14]}, "w" : {"shape":[3],"data_offsets":[0,12],"dtype":"F32"}}   )";
  auto r = DecodeSafetensors(Handmade(header, data));
  REQUIRE(r.ok());
  CHECK(r->size() == 2);
  CHECK(r->at("w").data<float>()[0] == 1.5f);
  CHECK(r->at("z\xc3\xa9\n").data<uint8_t>()[1] == 4);
}

TEST_CASE("safetensors: malformed files are refused with clear errors") {
  const Bytes four(4, 0);
  auto with = [&](const std::string& h) { return Err(Handmade(h, four)); };
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  CHECK(DecodeSafetensors(Handmade("{" + ok_entry + "}", four)).ok());
  CHECK(Err(Bytes{1, 2, 3}).find("8-byte length") != std::string::npos);
  Bytes huge(16, 0);
  PutU64LE(huge.data(), 1ULL << 40);
  CHECK(Err(huge).find("exceeds the limit") != std::string::npos);
  Bytes beyond(16, 0);
  PutU64LE(beyond.data(), 100);
  CHECK(Err(beyond).find("truncated") != std::string::npos);
  CHECK(with("[" + ok_entry + "]").find("start with '{'") != std::string::npos);
  CHECK(with("{" + ok_entry + ",}").find("expected a string key") != std::string::npos);
  CHECK(with("{" + ok_entry + "} x").find("after the JSON") != std::string::npos);
  CHECK(with("{" + ok_entry + "," + ok_entry + "}").find("duplicate key") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})")
            .find("unknown field x") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1]}})").find("needs dtype") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})").find("needs 8") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})").find("end before") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})")
            .find("unsupported JSON value") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}})").find("non-integer") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}})").find("leading zero") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}})")
            .find("too large") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})").find("unknown dtype") !=
        std::string::npos);
  auto bf16 = DecodeSafetensors(
      Handmade(R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", four));
  CHECK(bf16.status().code() == Code::kUnsupported);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})")
            .find("overlaps") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})").find("unused bytes") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})").find("after the last") !=
        std::string::npos);
  CHECK(with(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})").find("truncated") !=
        std::string::npos);
  CHECK(with(R"({"__metadata__":{"n":1}})").find("not a string") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[[[1]]],"data_offsets":[0,4]}})").find("nesting") !=
        std::string::npos);
  CHECK(with("{\"a\xff\":1}").find("UTF-8") != std::string::npos);
  CHECK(with(R"({"\ud800":1})").find("surrogate") != std::string::npos);
  CHECK(with("{\"a\x01\":1}").find("control character") != std::string::npos);
  CHECK(with(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})")
            .find("rank") != std::string::npos);
}

TEST_CASE("safetensors: every truncation and every single-byte change of a model file") {
  Bytes file = *EncodeSafetensors(MlpModel({3}));
  const Hash256 id = ModelId(MlpModel({3}));
  for (size_t n = 0; n < file.size(); n += 7) {
    CHECK(!DecodeSafetensors(ByteView(file.data(), n)).ok());
  }
  // A changed byte is either refused or yields a different model (a different id): a corrupt
  // file can never pass for the model the buyer ordered.
  for (size_t i = 0; i < file.size(); i += (i < 400 ? 1 : 97)) {
    Bytes b = file;
    b[i] ^= 0x01;
    auto r = DecodeSafetensors(b);
    if (r.ok()) {
      auto arch = ArchitectureOf(*r);
      CHECK((!arch.ok() || ModelId(*r) != id));
    }
  }
}

TEST_CASE("model: the architecture is read back from names and shapes") {
  auto mlp = ArchitectureOf(MlpModel({256, 128, 100}));
  REQUIRE(mlp.ok());
  CHECK(mlp->architecture == Architecture::kMlp);
  CHECK(mlp->hidden == std::vector<uint32_t>{256, 128, 100});
  CHECK(ArchitectureOf(MlpModel({})).ok());  // a linear classifier

  ClassifierArch cnn_arch{Architecture::kCnn, {128}, {16, 32}};
  TensorMap cnn;
  for (const auto& [name, shape] : cnn_arch.ParameterShapes()) cnn[name] = F32(shape, 0);
  auto c = ArchitectureOf(cnn);
  REQUIRE(c.ok());
  CHECK(*c == cnn_arch);
  CHECK(cnn.at("fc0.weight").shape() == Shape{128, 32 * 7 * 7});

  auto err = [](const TensorMap& m) {
    auto r = ArchitectureOf(m);
    REQUIRE(!r.ok());
    return r.status().message();
  };
  TensorMap m = MlpModel({8});
  m.erase("fc1.bias");
  CHECK(err(m).find("missing tensor fc1.bias") != std::string::npos);
  m = MlpModel({8});
  m["fc1.weight"] = F32({9, 8}, 0);
  CHECK(err(m).find("fc1.weight has shape [9, 8], expected [10, 8]") != std::string::npos);
  m = MlpModel({8});
  m["extra"] = F32({1}, 0);
  CHECK(err(m).find("unexpected tensor extra") != std::string::npos);
  m = MlpModel({8});
  m["fc0.bias"] = *Tensor::Zeros(DType::kI32, {8});
  CHECK(err(m).find("expected f32") != std::string::npos);
  m = MlpModel({8});
  m["fc0.weight"] = F32({8, 785}, 0);
  CHECK(err(m).find("fc0.weight") != std::string::npos);
  CHECK(err(TensorMap{}).find("no fc0.weight") != std::string::npos);
  cnn.erase("conv1.weight");
  CHECK(err(cnn).find("conv1.weight") != std::string::npos);
}

TEST_CASE("model: the id binds names, shapes and every bit") {
  TensorMap m = MlpModel({4});
  const Hash256 id = ModelId(m);
  CHECK(ModelId(*DecodeSafetensors(*EncodeSafetensors(m))) == id);
  TensorMap flipped = m;
  flipped["fc1.weight"].mutable_data<float>()[5] = -0.0f;
  TensorMap zero = m;
  zero["fc1.weight"].mutable_data<float>()[5] = 0.0f;
  CHECK(ModelId(flipped) != ModelId(zero));
  CHECK(ModelId(zero) != id);
  TensorMap renamed;
  for (auto& [k, v] : m) renamed[k == "fc0.bias" ? "fc0.biaz" : k] = v;
  CHECK(ModelId(renamed) != id);
}

TEST_CASE("model: LoadModel refuses corrupt, truncated and mismatched files") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "probity_model_test.safetensors").string();
  TensorMap m = MlpModel({4});
  REQUIRE(WriteSafetensorsFile(path, m).ok());
  const Hash256 id = ModelId(m);
  auto ok = LoadModel(path, &id);
  REQUIRE(ok.ok());
  CHECK(*ok == m);
  Hash256 other = id;
  other[0] ^= 1;
  auto mismatch = LoadModel(path, &other);
  CHECK(mismatch.status().code() == Code::kFailedPrecondition);
  CHECK(mismatch.status().message().find(ToHex(id)) != std::string::npos);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto trunc = LoadModel(path, &id);
  CHECK(trunc.status().code() == Code::kCorruption);
  CHECK(trunc.status().message().find(path) != std::string::npos);
  TensorMap not_model = {{"x", F32({2}, 0)}};
  REQUIRE(WriteSafetensorsFile(path, not_model).ok());
  CHECK(LoadModel(path).status().message().find("not a classifier model") != std::string::npos);
  std::filesystem::remove(path);
  CHECK(LoadModel(path).status().code() == Code::kNotFound);
}
