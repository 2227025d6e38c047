// VerifyStateProof: strict about every byte, and never crashing on garbage.
#include <doctest/doctest.h>
#include <rocksdb/write_batch.h>

#include <random>
#include <string>
#include <vector>

#include "probity/ledger/state_tree.h"
#include "probity/primitives/sha256.h"
#include "temp_db.h"

namespace probity::ledger {
namespace {

using testing::TempDb;

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

struct Fixture {
  TempDb db;
  std::unique_ptr<StateTree> tree;
  Hash256 root;

  explicit Fixture(int keys) {
    tree = std::move(StateTree::Open(db.db(), db.cf())).value();
    std::vector<StateWrite> w;
    for (int i = 0; i < keys; ++i)
      w.push_back({B("key" + std::to_string(i)), B("val" + std::to_string(i))});
    rocksdb::WriteBatch batch;
    root = *tree->ApplyVersion(1, w, &batch);
    db.Write(&batch);
    tree->MarkCommitted(1);
  }
};

struct Case {
  std::string key;
  std::optional<Bytes> value;
  StateProof proof;
};

// Proofs of every kind: inclusion, exclusion ending in another key's leaf, exclusion ending in
// an empty subtree.
std::vector<Case> Cases(Fixture& f) {
  std::vector<Case> cases;
  bool leaf_exclusion = false, empty_exclusion = false;
  for (int i = 0; i < 300 && (cases.size() < 6 || !leaf_exclusion || !empty_exclusion); ++i) {
    std::string k = (i % 2 ? "key" : "absent") + std::to_string(i);
    auto got = f.tree->GetWithProof(1, B(k));
    REQUIRE(got.ok());
    if (!got->first) {
      bool ends_in_leaf = got->second.encoded[0] == 1;
      if (ends_in_leaf && leaf_exclusion && empty_exclusion) continue;
      leaf_exclusion |= ends_in_leaf;
      empty_exclusion |= !ends_in_leaf;
    }
    cases.push_back({k, got->first, got->second});
  }
  CHECK(leaf_exclusion);
  CHECK(empty_exclusion);
  return cases;
}

TEST_CASE("proofs of each kind verify, and nothing else does") {
  Fixture f(500);
  for (const Case& c : Cases(f)) {
    CHECK(VerifyStateProof(f.root, B(c.key), c.value, c.proof).ok());
    Hash256 other_root = f.root;
    other_root[31] ^= 1;
    CHECK(VerifyStateProof(other_root, B(c.key), c.value, c.proof).code() ==
          Code::kUnauthenticated);
    CHECK(!VerifyStateProof(f.root, B(c.key + "!"), c.value, c.proof).ok());
    CHECK(
        !VerifyStateProof(f.root, B(c.key), c.value ? std::nullopt : std::optional(B("v")), c.proof)
             .ok());
  }
}

TEST_CASE("every tampered, truncated or extended proof is rejected") {
  Fixture f(500);
  for (const Case& c : Cases(f)) {
    const Bytes& good = c.proof.encoded;
    for (size_t i = 0; i < good.size(); ++i) {
      for (uint8_t flip : {0x01, 0x80, 0xff}) {
        StateProof bad{good};
        bad.encoded[i] ^= flip;
        CHECK_MESSAGE(!VerifyStateProof(f.root, B(c.key), c.value, bad).ok(),
                      "byte " << i << " of the proof of " << c.key);
      }
    }
    for (size_t n = 0; n < good.size(); ++n) {
      StateProof cut{Bytes(good.begin(), good.begin() + n)};
      CHECK(VerifyStateProof(f.root, B(c.key), c.value, cut).code() == Code::kInvalidArgument);
    }
    for (uint8_t extra : {0x00, 0x01}) {
      StateProof longer{good};
      longer.encoded.push_back(extra);
      CHECK(VerifyStateProof(f.root, B(c.key), c.value, longer).code() == Code::kInvalidArgument);
    }
  }
}

TEST_CASE("non-canonical encodings are rejected") {
  const Hash256 empty = EmptyStateRoot();
  Hash256 some = Sha256("some");
  auto with = [](std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return StateProof{out};
  };
  Bytes h_some(some.begin(), some.end());
  Bytes h_empty(empty.begin(), empty.end());
  // The empty tree's proof, and the same with junk.
  CHECK(VerifyStateProof(empty, B("a"), std::nullopt, with({{0, 0, 0}})).ok());
  CHECK(!VerifyStateProof(empty, B("a"), std::nullopt, with({{2, 0, 0}})).ok());
  // An empty sibling written out instead of flagged in the bitmap.
  CHECK(VerifyStateProof(empty, B("a"), std::nullopt, with({{0, 1, 0, 0}, h_empty})).code() ==
        Code::kInvalidArgument);
  // The deepest sibling flagged empty (the subtree would have collapsed).
  CHECK(VerifyStateProof(empty, B("a"), std::nullopt, with({{0, 1, 0, 1}})).code() ==
        Code::kInvalidArgument);
  // Unused bitmap bits.
  CHECK(VerifyStateProof(empty, B("a"), std::nullopt, with({{0, 1, 0, 0x02}, h_some})).code() ==
        Code::kInvalidArgument);
  // More than 256 siblings.
  Bytes many = {0, 0x01, 0x01};
  many.resize(many.size() + 33, 0);
  CHECK(VerifyStateProof(empty, B("a"), std::nullopt, StateProof{many}).code() ==
        Code::kInvalidArgument);
}

TEST_CASE("a leaf of another key proves absence only on the key's own path") {
  Fixture f(2);  // a root with two leaves
  auto got = f.tree->GetWithProof(1, B("key0"));
  REQUIRE(got.ok());
  REQUIRE(got->first.has_value());
  // Pretend the proof of key0 shows the absence of some key that does not share key0's path.
  for (int i = 0; i < 64; ++i) {
    std::string k = "other" + std::to_string(i);
    Hash256 kh = Sha256(k), k0 = Sha256("key0");
    if ((kh[0] >> 7) == (k0[0] >> 7)) continue;
    CHECK(VerifyStateProof(f.root, B(k), std::nullopt, got->second).code() ==
          Code::kUnauthenticated);
  }
}

TEST_CASE("garbage never crashes the verifier and never verifies") {
  Fixture f(64);
  std::mt19937_64 rng(2024);
  auto cases = Cases(f);
  for (int round = 0; round < 20000; ++round) {
    Bytes garbage;
    const Case& c = cases[round % cases.size()];
    switch (round % 3) {
      case 0: {  // random bytes
        garbage.resize(rng() % 700);
        for (auto& b : garbage) b = static_cast<uint8_t>(rng());
        if (!garbage.empty() && rng() % 2) garbage[0] = rng() % 2;  // plausible tags
        break;
      }
      case 1: {  // a real proof with random bytes overwritten
        garbage = c.proof.encoded;
        for (int k = 1 + rng() % 4; k > 0; --k) garbage[rng() % garbage.size()] = rng();
        if (garbage == c.proof.encoded) garbage.push_back(0);
        break;
      }
      case 2: {  // a real proof spliced with another
        const Bytes& a = c.proof.encoded;
        const Bytes& b = cases[rng() % cases.size()].proof.encoded;
        garbage.assign(a.begin(), a.begin() + rng() % (a.size() + 1));
        garbage.insert(garbage.end(), b.begin() + rng() % (b.size() + 1), b.end());
        if (garbage == a) garbage.push_back(1);
        break;
      }
    }
    CHECK(!VerifyStateProof(f.root, B(c.key), c.value, StateProof{garbage}).ok());
  }
}

}  // namespace
}  // namespace probity::ledger
