#include "probity/workloads/dataset.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "probity/primitives/hex.h"
#include "test_data.h"

using namespace probity;
using namespace probity::workloads;

namespace {
Bytes Idx(std::vector<uint32_t> dims, size_t body) {
  Bytes b = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  for (size_t i = 0; i < body; ++i) b.push_back(static_cast<uint8_t>(i % 7));
  return b;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("probity_dataset_test_" + name)).string();
}

void WriteFile(const std::string& path, ByteView b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
}
}  // namespace

TEST_CASE("idx: a well-formed array parses") {
  auto a = ParseIdx(Idx({3, 2, 2}, 12));
  REQUIRE(a.ok());
  CHECK(a->dims == std::vector<uint32_t>{3, 2, 2});
  CHECK(a->data.size() == 12);
  CHECK(a->data[8] == 1);
}

TEST_CASE("idx: malformed headers and bodies are refused with clear errors") {
  auto err = [](Bytes b) {
    auto r = ParseIdx(b);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == Code::kCorruption);
    return r.status().message();
  };
  CHECK(err({0, 0}).find("magic") != std::string::npos);
  Bytes bad_magic = Idx({4}, 4);
  bad_magic[1] = 1;
  CHECK(err(bad_magic).find("bad magic") != std::string::npos);
  Bytes float_type = Idx({4}, 4);
  float_type[2] = 0x0d;
  CHECK(err(float_type).find("element type 0x0d") != std::string::npos);
  CHECK(err({0, 0, 8, 0}).find("zero dimensions") != std::string::npos);
  CHECK(err({0, 0, 8, 2, 0, 0, 0, 1}).find("dimension list") != std::string::npos);
  CHECK(err(Idx({2, 0}, 0)).find("dimension 1 is zero") != std::string::npos);
  CHECK(err(Idx({3, 2, 2}, 11)).find("truncated") != std::string::npos);
  CHECK(err(Idx({3, 2, 2}, 13)).find("trailing") != std::string::npos);
  CHECK(err(Idx({65536, 65536, 2}, 0)).find("4 GiB") != std::string::npos);
}

TEST_CASE("idx: images and labels must agree") {
  CHECK(MakeDataset(*ParseIdx(Idx({3, 2, 2}, 12)), *ParseIdx(Idx({3}, 3))).ok());
  auto count = MakeDataset(*ParseIdx(Idx({3, 2, 2}, 12)), *ParseIdx(Idx({4}, 4)));
  CHECK(count.status().message().find("3 images but 4 labels") != std::string::npos);
  auto dims = MakeDataset(*ParseIdx(Idx({3, 4}, 12)), *ParseIdx(Idx({3}, 3)));
  CHECK(dims.status().message().find("3 dimensions") != std::string::npos);
  IdxArray labels = *ParseIdx(Idx({3}, 3));
  labels.data[2] = 10;
  auto bad = MakeDataset(*ParseIdx(Idx({3, 2, 2}, 12)), labels);
  CHECK(bad.status().message().find("label 2 is 10") != std::string::npos);
}

TEST_CASE("dataset: the fixture loads, and its id follows its contents") {
  auto d = LoadIdxDataset(test_data::Path("fmnist512-train-images-idx3-ubyte"),
                          test_data::Path("fmnist512-train-labels-idx1-ubyte"));
  REQUIRE(d.ok());
  CHECK(d->count == 512);
  CHECK(d->rows == 28);
  CHECK(d->cols == 28);
  CHECK(d->images.size() == 512 * 784);
  CHECK(d->labels[0] == 9);  // the first Fashion-MNIST training image is an ankle boot

  // One pixel changed: a different data set, a different id.
  auto raw_images = ReadMaybeGzipFile(test_data::Path("fmnist512-train-images-idx3-ubyte"));
  REQUIRE(raw_images.ok());
  Bytes changed = *raw_images;
  changed.back() ^= 1;
  WriteFile(TempPath("images"), changed);
  auto other =
      LoadIdxDataset(TempPath("images"), test_data::Path("fmnist512-train-labels-idx1-ubyte"));
  REQUIRE(other.ok());
  CHECK(other->id != d->id);
  auto big = ReadMaybeGzipFile(test_data::Path("fmnist256-test-images-idx3-ubyte"), 1000);
  CHECK(big.status().code() == Code::kResourceExhausted);
}

TEST_CASE("dataset: gzip files read as their contents; truncated or damaged ones are refused") {
  const std::string gz_path = test_data::Path("fmnist256-test-labels-idx1-ubyte.gz");
  auto gz = ReadMaybeGzipFile(gz_path);
  if (!GzipSupported()) {
    CHECK(gz.status().code() == Code::kUnsupported);
    CHECK(gz.status().message().find("gunzip") != std::string::npos);
    return;
  }
  REQUIRE(gz.ok());
  auto plain = ReadMaybeGzipFile(test_data::Path("fmnist256-test-labels-idx1-ubyte"));
  REQUIRE(plain.ok());
  CHECK(*gz == *plain);
  std::ifstream in(gz_path, std::ios::binary);
  Bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes truncated(file.begin(), file.begin() + file.size() / 2);
  WriteFile(TempPath("trunc.gz"), truncated);
  auto t = ReadMaybeGzipFile(TempPath("trunc.gz"));
  REQUIRE(!t.ok());
  CHECK(t.status().code() == Code::kCorruption);
  Bytes damaged = file;
  damaged[damaged.size() - 6] ^= 0xff;  // inside the CRC-32 / length trailer
  WriteFile(TempPath("damaged.gz"), damaged);
  CHECK(!ReadMaybeGzipFile(TempPath("damaged.gz")).ok());
  Bytes trailing = file;
  trailing.push_back(0);
  WriteFile(TempPath("trailing.gz"), trailing);
  CHECK(!ReadMaybeGzipFile(TempPath("trailing.gz")).ok());
  CHECK(ReadMaybeGzipFile(gz_path, 100).status().code() == Code::kResourceExhausted);
}

TEST_CASE("dataset: a missing data set names the path and the Debian package") {
  auto r = LoadFashionMnist(FashionMnistSplit::kTrain, "/nonexistent/fashion");
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(r.status().message().find("/nonexistent/fashion/train-images-idx3-ubyte.gz") !=
        std::string::npos);
  CHECK(r.status().message().find("dataset-fashion-mnist") != std::string::npos);
  DataCatalog catalog("/nonexistent/fashion");
  auto f = catalog.Find(FashionMnistTestId());
  CHECK(f.status().code() == Code::kNotFound);
  Hash256 unknown{};
  unknown[0] = 1;
  CHECK(catalog.Find(unknown).status().message().find("unknown data set") != std::string::npos);
}

TEST_CASE("dataset: Fashion-MNIST files with other contents are not taken for it") {
  // The fixture placed under Fashion-MNIST's file names: loads, but its id is not the published.
  std::string dir = TempPath("fake_fashion");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (auto [from, to] :
       {std::pair{"fmnist256-test-images-idx3-ubyte", "t10k-images-idx3-ubyte"},
        std::pair{"fmnist256-test-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"}}) {
    std::filesystem::copy_file(test_data::Path(from), dir + "/" + to,
                               std::filesystem::copy_options::overwrite_existing);
  }
  auto r = LoadFashionMnist(FashionMnistSplit::kTest, dir);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("not the published") != std::string::npos);
}

TEST_CASE("dataset: the catalog serves registered data sets by id") {
  auto d = LoadIdxDataset(test_data::Path("fmnist256-test-images-idx3-ubyte"),
                          test_data::Path("fmnist256-test-labels-idx1-ubyte"));
  REQUIRE(d.ok());
  DataCatalog catalog("/nonexistent");
  Hash256 id = d->id;
  catalog.Add(std::make_shared<const Dataset>(std::move(d).value()));
  auto f = catalog.Find(id);
  REQUIRE(f.ok());
  CHECK((*f)->count == 256);
}
