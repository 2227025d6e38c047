// A long randomized run of the state tree against a std::map model: many versions of mixed
// writes, abandoned versions, lost batches, reopenings, prunings and a small node cache that
// evicts all the time. Labelled `slow`.
#include <doctest/doctest.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "probity/ledger/state_tree.h"
#include "probity/primitives/sha256.h"
#include "temp_db.h"

namespace probity::ledger {
namespace {

using testing::TempDb;
using Model = std::map<std::string, std::string>;

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

std::optional<Bytes> ModelValue(const Model& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return B(it->second);
}

TEST_CASE("long randomized run against a model") {
  std::mt19937_64 rng(0x5eed);
  TempDb db;
  auto open = [&](size_t cache) {
    auto t = StateTree::Open(db.db(), db.cf(), StateTreeOptions{.node_cache_bytes = cache});
    REQUIRE(t.ok());
    return std::move(t).value();
  };
  auto tree = open(64 << 10);
  std::vector<Model> history{Model{}};
  std::vector<Hash256> roots{EmptyStateRoot()};
  const uint64_t kKeySpace = 5000;
  auto key = [](uint64_t i) { return "acct/" + std::to_string(i); };

  for (int step = 0; step < 400; ++step) {
    const uint64_t v = tree->LatestVersion() + 1;
    Model m = history.back();
    std::vector<StateWrite> writes;
    size_t n = rng() % 8 == 0 ? rng() % 3000 : rng() % 200;
    for (size_t i = 0; i < n; ++i) {
      std::string k = key(rng() % kKeySpace);
      if (rng() % 3 == 0) {
        writes.push_back({B(k), std::nullopt});
        m.erase(k);
      } else {
        std::string val(1 + rng() % 40, static_cast<char>('a' + rng() % 26));
        writes.push_back({B(k), B(val)});
        m[k] = val;
      }
    }
    rocksdb::WriteBatch batch;
    auto root = tree->ApplyVersion(v, writes, &batch);
    REQUIRE(root.ok());
    switch (rng() % 20) {
      case 0:  // abandoned: the block was not committed
        tree->Abandon(v);
        continue;
      case 1:  // crash before the write: the batch is lost
        tree.reset();
        db.Reopen();
        tree = open(rng() % 2 ? 0 : (64 << 10));
        REQUIRE(tree->LatestVersion() == v - 1);
        continue;
      default:
        break;
    }
    db.Write(&batch);
    tree->MarkCommitted(v);
    history.push_back(m);
    roots.push_back(*root);
    if (rng() % 25 == 0) {  // crash after the write: nothing lost
      tree.reset();
      db.Reopen();
      tree = open(64 << 10);
      REQUIRE(tree->LatestVersion() == v);
      REQUIRE(*tree->Root(v) == *root);
    }
    if (rng() % 30 == 0 && v > 10) {
      uint64_t keep_from = std::max(tree->OldestVersion(), v - rng() % 10);
      rocksdb::WriteBatch prune;
      REQUIRE(tree->Prune(keep_from, &prune).ok());
      db.Write(&prune);
    }
    // Spot checks on a few readable versions.
    for (int c = 0; c < 3; ++c) {
      uint64_t oldest = tree->OldestVersion();
      uint64_t at = oldest + rng() % (v - oldest + 1);
      REQUIRE(*tree->Root(at) == roots[at]);
      for (int j = 0; j < 20; ++j) {
        std::string k = key(rng() % kKeySpace);
        auto got = tree->GetWithProof(at, B(k));
        REQUIRE(got.ok());
        std::optional<Bytes> want = ModelValue(history[at], k);
        CHECK(got->first == want);
        CHECK(VerifyStateProof(roots[at], B(k), want, got->second).ok());
        auto plain = tree->Get(at, B(k));
        REQUIRE(plain.ok());
        CHECK(*plain == want);
      }
    }
  }
  // Everything readable at the end, from disk alone.
  tree.reset();
  db.Reopen();
  tree = open(0);
  const uint64_t latest = tree->LatestVersion();
  for (uint64_t i = 0; i < kKeySpace; i += 7) {
    auto got = tree->Get(latest, B(key(i)));
    REQUIRE(got.ok());
    CHECK(*got == ModelValue(history[latest], key(i)));
  }
}

}  // namespace
}  // namespace probity::ledger
