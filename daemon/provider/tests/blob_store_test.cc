// The blob store: only whole, hash-checked blobs become visible; damage is detected on read;
// limits hold while streaming, and a refused upload leaves nothing behind.
#include "blob_store.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "probity/primitives/hex.h"
#include "temp_dir.h"

namespace probity::provider {
namespace {

using testing::TempDir;

Bytes Data(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

size_t FilesIn(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST_CASE("a streamed blob becomes visible only when committed, under its hash") {
  TempDir tmp;
  auto store = BlobStore::Open(tmp.path(), 1 << 20);
  REQUIRE(store.ok());
  const Bytes data = Data(3000, 1);
  const Hash256 sha = Sha256(data);
  auto w = (*store)->Begin(sha, data.size());
  REQUIRE(w.ok());
  REQUIRE((*w)->Append(ByteView(data).subspan(0, 1000)).ok());
  CHECK(!(*store)->Has(sha));  // a partial blob is never visible
  REQUIRE((*w)->Append(ByteView(data).subspan(1000)).ok());
  REQUIRE((*w)->Finish().ok());
  CHECK((*w)->data() == data);
  CHECK(!(*store)->Has(sha));
  REQUIRE((*w)->Commit().ok());
  CHECK((*store)->Has(sha));
  auto back = (*store)->Read(sha);
  REQUIRE(back.ok());
  CHECK(*back == data);
  CHECK(std::filesystem::exists(tmp.path() + "/" + ToHex(sha)));
  CHECK(FilesIn(tmp.path() + "/tmp") == 0);
}

TEST_CASE("an abandoned, truncated, oversized or misnamed upload leaves nothing behind") {
  TempDir tmp;
  auto store = BlobStore::Open(tmp.path(), 4096);
  REQUIRE(store.ok());
  const Bytes data = Data(2000, 3);
  const Hash256 sha = Sha256(data);
  SUBCASE("abandoned midway") {
    auto w = (*store)->Begin(sha, data.size());
    REQUIRE(w.ok());
    REQUIRE((*w)->Append(ByteView(data).subspan(0, 500)).ok());
    CHECK(FilesIn(tmp.path()) == 1);  // the temporary file
  }
  SUBCASE("truncated") {
    auto w = (*store)->Begin(sha, data.size());
    REQUIRE((*w)->Append(ByteView(data).subspan(0, 1999)).ok());
    CHECK((*w)->Finish().code() == Code::kInvalidArgument);
    CHECK((*w)->Commit().code() == Code::kFailedPrecondition);
  }
  SUBCASE("more bytes than announced") {
    auto w = (*store)->Begin(sha, 1000);
    REQUIRE((*w)->Append(ByteView(data).subspan(0, 1000)).ok());
    CHECK((*w)->Append(ByteView(data).subspan(1000, 1)).code() == Code::kResourceExhausted);
  }
  SUBCASE("announced above the limit") {
    CHECK((*store)->Begin(sha, 4097).status().code() == Code::kResourceExhausted);
    CHECK((*store)->Begin(sha, 4096).ok());
  }
  SUBCASE("another hash") {
    Hash256 wrong = sha;
    wrong[5] ^= 1;
    auto w = (*store)->Begin(wrong, data.size());
    REQUIRE((*w)->Append(data).ok());
    CHECK((*w)->Finish().code() == Code::kCorruption);
  }
  CHECK(FilesIn(tmp.path()) == 0);
  CHECK(!(*store)->Has(sha));
}

TEST_CASE("a blob damaged on disk is refused, removed and reported missing") {
  TempDir tmp;
  auto store = BlobStore::Open(tmp.path(), 1 << 20);
  REQUIRE(store.ok());
  const Bytes data = Data(500, 9);
  auto sha = (*store)->Put(data);
  REQUIRE(sha.ok());
  CHECK(*sha == Sha256(data));
  CHECK((*store)->Read(*sha).ok());
  {
    std::fstream f((*store)->PathOf(*sha), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put(static_cast<char>(data[100] ^ 0x20));
  }
  auto read = (*store)->Read(*sha);
  CHECK(read.status().code() == Code::kNotFound);
  CHECK(read.status().message().find("corrupted") != std::string::npos);
  CHECK(!(*store)->Has(*sha));
  // Putting it again restores it.
  REQUIRE((*store)->Put(data).ok());
  CHECK((*store)->Read(*sha).ok());
  CHECK((*store)->Read(Sha256(AsBytes("absent"))).status().code() == Code::kNotFound);
}

TEST_CASE("opening the store clears uploads a crash cut short") {
  TempDir tmp;
  {
    auto store = BlobStore::Open(tmp.path(), 1 << 20);
    REQUIRE(store.ok());
  }
  std::ofstream(tmp.path() + "/tmp/deadbeef.part") << "half an upload";
  auto store = BlobStore::Open(tmp.path(), 1 << 20);
  REQUIRE(store.ok());
  CHECK(FilesIn(tmp.path()) == 0);
}

}  // namespace
}  // namespace probity::provider
