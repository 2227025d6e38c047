// The cpu backend's 16-lane SHA-256 (AVX-512) against the primitives' SHA-256: every padding
// case, every header length a tensor can have, payloads at every alignment, and lanes of
// different lengths in one call. Skipped (with a message) on a processor without AVX-512.
#include "cpu/sha256_x16.h"

#include <doctest/doctest.h>

#include <vector>

#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::workloads;

namespace {

bool Available() {
  if (cpu::CpuHasAvx512Bw()) return true;
  MESSAGE("skipped: this processor has no AVX-512 F/BW");
  return false;
}

Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    b[i] = static_cast<uint8_t>(seed >> 24);
  }
  return b;
}

Hash256 Reference(const internal::HashItem& item) {
  Sha256Hasher h;
  h.Update(item.header);
  h.Update(ByteView(static_cast<const uint8_t*>(item.data), item.bytes));
  return h.Final();
}

// Hashes `items` (at most 16) in one call and compares every lane with the reference.
void CheckLanes(const std::vector<internal::HashItem>& items) {
  std::vector<Hash256> out(items.size());
  cpu::Sha256x16(out, items);
  for (size_t l = 0; l < items.size(); ++l) {
    CAPTURE(l);
    CAPTURE(items[l].header.size());
    CAPTURE(items[l].bytes);
    CHECK(out[l] == Reference(items[l]));
  }
}

}  // namespace

TEST_CASE("sha256 x16: every message length from 0 to 300 bytes, 16 lanes at a time") {
  if (!Available()) return;
  const Bytes data = Pattern(512, 7);
  for (size_t header : {size_t{0}, size_t{8}, size_t{16}, size_t{72}}) {
    const Bytes head = Pattern(header, 11);
    for (size_t first = 0; first + header <= 300; first += 16) {
      std::vector<internal::HashItem> items;
      for (size_t l = 0; l < 16 && first + l + header <= 300; ++l) {
        // Payload offsets 0..15: every alignment of the data.
        items.push_back({head, data.data() + l, first + l});
      }
      CheckLanes(items);
    }
  }
}

TEST_CASE("sha256 x16: lanes of different lengths, fewer than 16 lanes, long messages") {
  if (!Available()) return;
  const Bytes data = Pattern(70000, 3);
  const Bytes head = Pattern(24, 5);
  std::vector<internal::HashItem> mixed;
  for (size_t l = 0; l < 16; ++l) mixed.push_back({head, data.data() + 3 * l, (l * 4099) % 9000});
  CheckLanes(mixed);
  for (size_t n = 1; n <= 16; ++n) {
    std::vector<internal::HashItem> items;
    for (size_t l = 0; l < n; ++l) items.push_back({head, data.data() + l, 8192 - 24});
    CheckLanes(items);
  }
  CheckLanes({{head, data.data(), 65536}, {ByteView(), data.data() + 1, 65535}});
  CheckLanes({{head, nullptr, 0}});
}

TEST_CASE("sha256 x16: the known answers of FIPS 180-4") {
  if (!Available()) return;
  const std::string abc = "abc";
  const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  std::vector<internal::HashItem> items = {
      {ByteView(), abc.data(), abc.size()}, {AsBytes(two), nullptr, 0}, {ByteView(), nullptr, 0}};
  std::vector<Hash256> out(3);
  cpu::Sha256x16(out, items);
  CHECK(ToHex(out[0]) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ToHex(out[1]) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(ToHex(out[2]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
