// The state tree against a std::map model and an independent reference of the root.
#include "probity/ledger/state_tree.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "probity/primitives/sha256.h"
#include "temp_db.h"

namespace probity::ledger {
namespace {

using testing::TempDb;
using Model = std::map<std::string, std::string>;

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Values longer than 32 bytes get a value record of their own; shorter ones live in the leaf.
const std::string kLarge(33, 'L');

StateWrite Put(const std::string& k, const std::string& v) { return {B(k), B(v)}; }
StateWrite Del(const std::string& k) { return {B(k), std::nullopt}; }

// The root as state_hash.h specifies it, computed directly from the set of pairs with the
// primitives' TaggedHash: a binary tree over the bits of SHA-256(key), single leaves
// collapsed. Shares no code with the tree.
Hash256 RefSubtree(std::vector<std::pair<Hash256, Hash256>>::const_iterator begin,
                   std::vector<std::pair<Hash256, Hash256>>::const_iterator end, unsigned depth) {
  if (begin == end) return TaggedHash("probity/state/empty", {});
  if (end - begin == 1) {
    Bytes m(begin->first.begin(), begin->first.end());
    m.insert(m.end(), begin->second.begin(), begin->second.end());
    return TaggedHash("probity/state/leaf", m);
  }
  auto mid = std::partition_point(begin, end, [depth](const auto& p) {
    return ((p.first[depth / 8] >> (7 - depth % 8)) & 1) == 0;
  });
  Hash256 l = RefSubtree(begin, mid, depth + 1);
  Hash256 r = RefSubtree(mid, end, depth + 1);
  Bytes m(l.begin(), l.end());
  m.insert(m.end(), r.begin(), r.end());
  return TaggedHash("probity/state/internal", m);
}

Hash256 RefRoot(const Model& model) {
  std::vector<std::pair<Hash256, Hash256>> leaves;
  for (const auto& [k, v] : model) leaves.emplace_back(Sha256(k), Sha256(v));
  std::sort(leaves.begin(), leaves.end());
  return RefSubtree(leaves.begin(), leaves.end(), 0);
}

std::unique_ptr<StateTree> OpenTree(TempDb& db, StateTreeOptions options = {}) {
  auto tree = StateTree::Open(db.db(), db.cf(), options);
  REQUIRE(tree.ok());
  return std::move(tree).value();
}

Hash256 Commit(TempDb& db, StateTree& tree, const std::vector<StateWrite>& writes) {
  rocksdb::WriteBatch batch;
  uint64_t v = tree.LatestVersion() + 1;
  auto root = tree.ApplyVersion(v, writes, &batch);
  REQUIRE(root.ok());
  db.Write(&batch);
  tree.MarkCommitted(v);
  return *root;
}

void ApplyToModel(Model& m, const std::vector<StateWrite>& writes) {
  for (const StateWrite& w : writes) {
    std::string k(w.key.begin(), w.key.end());
    if (w.value) {
      m[k] = std::string(w.value->begin(), w.value->end());
    } else {
      m.erase(k);
    }
  }
}

std::optional<Bytes> ModelValue(const Model& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) return std::nullopt;
  return B(it->second);
}

void CheckGet(StateTree& tree, uint64_t version, const Model& m, const std::string& k) {
  auto got = tree.Get(version, B(k));
  REQUIRE(got.ok());
  CHECK(*got == ModelValue(m, k));
}

void CheckProof(StateTree& tree, uint64_t version, const Model& m, const std::string& k) {
  auto root = tree.Root(version);
  REQUIRE(root.ok());
  auto got = tree.GetWithProof(version, B(k));
  REQUIRE(got.ok());
  std::optional<Bytes> want = ModelValue(m, k);
  CHECK(got->first == want);
  CHECK(VerifyStateProof(*root, B(k), want, got->second).ok());
  // The same proof must not show anything else. (An absence proof may well show the absence of
  // other keys whose path ends in the same place; a presence proof is for one key only.)
  if (want) CHECK(!VerifyStateProof(*root, B(k + "x"), want, got->second).ok());
  std::optional<Bytes> other = want ? std::nullopt : std::optional<Bytes>(B("v"));
  CHECK(!VerifyStateProof(*root, B(k), other, got->second).ok());
  if (want) {
    Bytes changed = *want;
    changed.push_back('!');
    CHECK(!VerifyStateProof(*root, B(k), changed, got->second).ok());
  }
}

TEST_CASE("empty tree") {
  TempDb db;
  auto tree = OpenTree(db);
  CHECK(tree->LatestVersion() == 0);
  CHECK(EmptyStateRoot() == TaggedHash("probity/state/empty", {}));
  CHECK(*tree->Root(0) == EmptyStateRoot());
  CHECK(!tree->Get(0, B("a"))->has_value());
  auto p = tree->GetWithProof(0, B("a"));
  REQUIRE(p.ok());
  CHECK(VerifyStateProof(EmptyStateRoot(), B("a"), std::nullopt, p->second).ok());
  CHECK(p->second.encoded == Bytes({0, 0, 0}));
  CHECK(Commit(db, *tree, {}) == EmptyStateRoot());
  CHECK(Commit(db, *tree, {Del("nothing")}) == EmptyStateRoot());
  CHECK(tree->LatestVersion() == 2);
  CHECK(tree->Root(3).status().code() == Code::kNotFound);
  CHECK(tree->Get(3, B("a")).status().code() == Code::kNotFound);
}

TEST_CASE("single key, then a second, then deletes back to the empty root") {
  TempDb db;
  auto tree = OpenTree(db);
  Model m;
  Hash256 r1 = Commit(db, *tree, {Put("alice", "100")});
  m["alice"] = "100";
  CHECK(r1 == RefRoot(m));
  Bytes leaf(32 * 2);
  Hash256 kh = Sha256("alice"), vh = Sha256("100");
  std::copy(kh.begin(), kh.end(), leaf.begin());
  std::copy(vh.begin(), vh.end(), leaf.begin() + 32);
  CHECK(r1 == TaggedHash("probity/state/leaf", leaf));
  CheckProof(*tree, 1, m, "alice");
  CheckProof(*tree, 1, m, "bob");

  Commit(db, *tree, {Put("bob", "5")});
  m["bob"] = "5";
  CHECK(*tree->Root(2) == RefRoot(m));
  CheckProof(*tree, 2, m, "alice");
  CheckProof(*tree, 2, m, "bob");
  CheckProof(*tree, 2, m, "carol");

  CHECK(Commit(db, *tree, {Del("alice")}) == TaggedHash("probity/state/leaf", [] {
          Hash256 k = Sha256("bob"), v = Sha256("5");
          Bytes b(k.begin(), k.end());
          b.insert(b.end(), v.begin(), v.end());
          return b;
        }()));
  CHECK(Commit(db, *tree, {Del("bob")}) == EmptyStateRoot());
  CHECK(!tree->Get(4, B("bob"))->has_value());
  CHECK(*tree->Get(2, B("bob")) == std::optional<Bytes>(B("5")));
  CHECK(*tree->Get(1, B("alice")) == std::optional<Bytes>(B("100")));
  CHECK(!tree->Get(3, B("alice"))->has_value());
}

TEST_CASE("later writes to the same key win within a version") {
  TempDb db;
  auto tree = OpenTree(db);
  Commit(db, *tree, {Put("k", "1"), Put("k", "2"), Del("j"), Put("j", "3")});
  CHECK(*tree->Get(1, B("k")) == std::optional<Bytes>(B("2")));
  CHECK(*tree->Get(1, B("j")) == std::optional<Bytes>(B("3")));
  Commit(db, *tree, {Put("k", "4"), Del("k")});
  CHECK(!tree->Get(2, B("k"))->has_value());
  CHECK(*tree->Root(2) == RefRoot({{"j", "3"}}));
}

TEST_CASE("the root does not depend on the order or the grouping of writes") {
  std::mt19937_64 rng(7);
  std::vector<StateWrite> writes;
  Model m;
  for (int i = 0; i < 400; ++i) {
    std::string k = "key" + std::to_string(i), v = "v" + std::to_string(rng());
    writes.push_back(Put(k, v));
    m[k] = v;
  }
  Hash256 want = RefRoot(m);

  TempDb a;
  auto ta = OpenTree(a);
  CHECK(Commit(a, *ta, writes) == want);

  TempDb b;
  auto tb = OpenTree(b);
  std::shuffle(writes.begin(), writes.end(), rng);
  // In several versions of different sizes, with detours through other values and deletes.
  size_t at = 0;
  for (size_t n : {1, 7, 100, 13, 279}) {
    std::vector<StateWrite> part(writes.begin() + at, writes.begin() + at + n);
    std::vector<StateWrite> detour;
    for (const auto& w : part) detour.push_back(Put(std::string(w.key.begin(), w.key.end()), "x"));
    for (size_t i = 0; i < part.size(); i += 2) detour[i].value.reset();
    Commit(b, *tb, detour);
    Commit(b, *tb, part);
    at += n;
  }
  CHECK(at == writes.size());
  CHECK(*tb->Root(tb->LatestVersion()) == want);
}

// The main property test: random versions of inserts, updates and deletes against a model.
TEST_CASE("random versions against a std::map model, with reopen") {
  std::mt19937_64 rng(12345);
  TempDb db;
  auto tree = OpenTree(db, StateTreeOptions{.node_cache_bytes = 1 << 16});
  std::vector<Model> history{Model{}};
  std::vector<Hash256> roots{EmptyStateRoot()};
  auto key = [&](uint64_t i) { return "k" + std::to_string(i); };
  const int kVersions = 60;
  const uint64_t kKeySpace = 700;
  for (int v = 1; v <= kVersions; ++v) {
    Model m = history.back();
    std::vector<StateWrite> writes;
    size_t n = rng() % 60;
    if (v % 10 == 0) n = 0;  // some versions change nothing
    for (size_t i = 0; i < n; ++i) {
      std::string k = key(rng() % kKeySpace);
      if (rng() % 4 == 0) {
        writes.push_back(Del(k));
      } else {
        // Same values happen often; one in three is too large to be kept inside its leaf.
        std::string val = std::to_string(rng() % 5);
        if (rng() % 3 == 0) val += std::string(40, '+');
        writes.push_back(Put(k, val));
      }
    }
    ApplyToModel(m, writes);
    Hash256 root = Commit(db, *tree, writes);
    CHECK(root == RefRoot(m));
    history.push_back(m);
    roots.push_back(root);
    if (v == 30) {
      tree.reset();
      db.Reopen();
      tree = OpenTree(db);
      CHECK(tree->LatestVersion() == 30);
      CHECK(*tree->Root(30) == roots[30]);
    }
  }
  tree.reset();
  db.Reopen();
  tree = OpenTree(db);
  REQUIRE(tree->LatestVersion() == kVersions);
  for (int v = 0; v <= kVersions; ++v) {
    CHECK(*tree->Root(v) == roots[v]);
    for (uint64_t i = 0; i < kKeySpace; i += (v % 5 == 0 ? 1 : 37)) {
      CheckGet(*tree, v, history[v], key(i));
    }
  }
  for (int v : {1, 2, 17, 33, 59, kVersions}) {
    for (uint64_t i = 0; i < kKeySpace; i += 11) CheckProof(*tree, v, history[v], key(i));
  }
}

TEST_CASE("a version whose batch is never written leaves no trace") {
  TempDb db;
  auto tree = OpenTree(db);
  Hash256 r1 = Commit(db, *tree, {Put("a", "1"), Put("b", "2")});
  {
    rocksdb::WriteBatch lost;
    auto r = tree->ApplyVersion(2, {Put("a", "9"), Del("b"), Put("c", "3")}, &lost);
    REQUIRE(r.ok());
    CHECK(tree->LatestVersion() == 1);
    CHECK(tree->Get(2, B("a")).status().code() == Code::kNotFound);
    // The crash: the batch is dropped, the process restarts.
  }
  tree.reset();
  db.Reopen();
  tree = OpenTree(db);
  CHECK(tree->LatestVersion() == 1);
  CHECK(*tree->Root(1) == r1);
  CHECK(*tree->Get(1, B("a")) == std::optional<Bytes>(B("1")));
  CHECK(Commit(db, *tree, {Put("d", "4")}) == RefRoot({{"a", "1"}, {"b", "2"}, {"d", "4"}}));

  // Without a restart: Abandon, then the same version with other writes.
  rocksdb::WriteBatch dropped;
  REQUIRE(tree->ApplyVersion(3, {Put("a", "x"), Put("e", "5")}, &dropped).ok());
  tree->Abandon(3);
  CHECK(Commit(db, *tree, {Put("b", "7")}) == RefRoot({{"a", "1"}, {"b", "7"}, {"d", "4"}}));
  // Applying twice without Abandon: the second attempt replaces the first.
  rocksdb::WriteBatch first;
  REQUIRE(tree->ApplyVersion(4, {Del("a")}, &first).ok());
  CHECK(Commit(db, *tree, {Put("f", "6")}) ==
        RefRoot({{"a", "1"}, {"b", "7"}, {"d", "4"}, {"f", "6"}}));
  CHECK(*tree->Get(4, B("a")) == std::optional<Bytes>(B("1")));
}

TEST_CASE("misuse gets clear errors and changes nothing") {
  TempDb db;
  auto tree = OpenTree(db);
  Commit(db, *tree, {Put("a", "1")});
  rocksdb::WriteBatch batch;
  CHECK(tree->ApplyVersion(1, {}, &batch).status().code() == Code::kFailedPrecondition);
  CHECK(tree->ApplyVersion(3, {}, &batch).status().code() == Code::kFailedPrecondition);
  CHECK(batch.Count() == 0);
  CHECK(tree->Prune(2, &batch).code() == Code::kInvalidArgument);
  CHECK(tree->GetWithProof(2, B("a")).status().code() == Code::kNotFound);
  CHECK(StateTree::Open(nullptr, db.cf()).status().code() == Code::kInvalidArgument);
  tree->Abandon(7);  // nothing pending: a no-op
  CHECK(tree->LatestVersion() == 1);
  // Nothing of the tree lands outside its column family.
  CHECK(db.CountFamily(db.default_cf()) == 0);
}

TEST_CASE("corrupt metadata is reported, not trusted") {
  TempDb db;
  {
    auto tree = OpenTree(db);
    Commit(db, *tree, {Put("a", "1")});
  }
  REQUIRE(db.db()->Put(rocksdb::WriteOptions(), db.cf(), "mlatest", "short").ok());
  CHECK(StateTree::Open(db.db(), db.cf()).status().code() == Code::kCorruption);
}

// The number of node records one version's tree needs: an internal node at every nibble prefix
// shared by at least two keys (leaves live inside their parents, node.h); a null root or a
// lone leaf for fewer than two keys.
size_t ExpectedNodes(const Model& m) {
  if (m.size() < 2) return 1;
  std::vector<Hash256> khs;
  for (const auto& kv : m) khs.push_back(Sha256(kv.first));
  size_t internal = 0;
  for (unsigned depth = 0; depth <= 64; ++depth) {
    std::map<std::string, int> prefixes;
    for (const Hash256& h : khs) {
      std::string p;
      for (unsigned i = 0; i < depth; ++i) p.push_back((i & 1) ? (h[i / 2] & 15) : (h[i / 2] >> 4));
      ++prefixes[p];
    }
    size_t shared = 0;
    for (const auto& [p, n] : prefixes) shared += n >= 2;
    if (shared == 0) break;
    internal += shared;
  }
  return internal;
}

TEST_CASE("pruning keeps the kept versions whole and removes the rest") {
  std::mt19937_64 rng(99);
  TempDb db;
  auto tree = OpenTree(db);
  std::vector<Model> history{Model{}};
  std::vector<Hash256> roots{EmptyStateRoot()};
  for (int v = 1; v <= 40; ++v) {
    Model m = history.back();
    std::vector<StateWrite> writes;
    for (int i = 0; i < 30; ++i) {
      std::string k = "p" + std::to_string(rng() % 200);
      if (rng() % 5 == 0) {
        writes.push_back(Del(k));
      } else {
        writes.push_back(Put(k, kLarge + std::to_string(rng())));
      }
    }
    ApplyToModel(m, writes);
    roots.push_back(Commit(db, *tree, writes));
    history.push_back(m);
  }
  size_t nodes_before = db.Count('n');
  size_t values_before = db.Count('v');

  rocksdb::WriteBatch batch;
  REQUIRE(tree->Prune(25, &batch).ok());
  db.Write(&batch);
  CHECK(tree->OldestVersion() == 25);
  CHECK(tree->Root(24).status().code() == Code::kNotFound);
  CHECK(tree->Get(3, B("p1")).status().code() == Code::kNotFound);
  CHECK(db.Count('n') < nodes_before);
  CHECK(db.Count('v') < values_before);
  CHECK(db.Count('r') == 16);  // roots of versions 25..40

  tree.reset();
  db.Reopen();
  tree = OpenTree(db, StateTreeOptions{.node_cache_bytes = 0});  // everything from disk
  CHECK(tree->OldestVersion() == 25);
  for (int v = 25; v <= 40; ++v) {
    CHECK(*tree->Root(v) == roots[v]);
    for (int i = 0; i < 200; i += 3) {
      CheckGet(*tree, v, history[v], "p" + std::to_string(i));
      if (v % 5 == 0) CheckProof(*tree, v, history[v], "p" + std::to_string(i));
    }
  }

  // Pruning up to the latest version leaves exactly one tree and one value per present key.
  rocksdb::WriteBatch all;
  REQUIRE(tree->Prune(40, &all).ok());
  db.Write(&all);
  CHECK(db.Count('v') == history[40].size());
  CHECK(db.Count('r') == 1);
  CHECK(db.Count('s') == 0);
  CHECK(db.Count('n') == ExpectedNodes(history[40]));
  for (int i = 0; i < 200; ++i) CheckProof(*tree, 40, history[40], "p" + std::to_string(i));
  // The tree goes on after pruning.
  Model m = history[40];
  std::vector<StateWrite> more = {Put("p1", kLarge + "new"), Del("p2"), Put("q", kLarge)};
  ApplyToModel(m, more);
  CHECK(Commit(db, *tree, more) == RefRoot(m));
  rocksdb::WriteBatch again;
  REQUIRE(tree->Prune(41, &again).ok());
  db.Write(&again);
  CHECK(db.Count('n') == ExpectedNodes(m));
  CHECK(db.Count('v') == m.size());
}

// Two keys whose hashes share their first 32 bits (found by the birthday bound, ~2^16 tries):
// a chain of internal nodes with one child each, and leaves deep down.
std::pair<std::string, std::string> KeysSharing32Bits() {
  std::map<uint32_t, std::string> seen;
  for (uint64_t i = 0;; ++i) {
    std::string k = "deep" + std::to_string(i);
    Hash256 h = Sha256(k);
    uint32_t top = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
    auto [it, fresh] = seen.emplace(top, k);
    if (!fresh) return {it->second, k};
  }
}

TEST_CASE("keys with a long common prefix: deep leaves, empty siblings, collapse on delete") {
  auto [a, b] = KeysSharing32Bits();
  TempDb db;
  auto tree = OpenTree(db);
  Model m = {{a, "1"}, {b, "2"}, {"x", "3"}, {"y", "4"}};
  CHECK(Commit(db, *tree, {Put(a, "1"), Put(b, "2"), Put("x", "3"), Put("y", "4")}) == RefRoot(m));
  auto p = tree->GetWithProof(1, B(a));
  REQUIRE(p.ok());
  // At least 33 siblings, most of them empty and flagged in the bitmap: the proof stays short.
  size_t count = p->second.encoded[65] | (p->second.encoded[66] << 8);
  CHECK(count >= 33);
  CHECK(p->second.encoded.size() < 67 + 5 + 32 * 6);
  for (const std::string& k : {a, b, std::string("x"), std::string("deep-absent")}) {
    CheckProof(*tree, 1, m, k);
  }
  // Deleting one of the pair pulls the other all the way up.
  m.erase(a);
  CHECK(Commit(db, *tree, {Del(a)}) == RefRoot(m));
  CheckProof(*tree, 2, m, b);
  CheckProof(*tree, 2, m, a);
  rocksdb::WriteBatch batch;
  REQUIRE(tree->Prune(2, &batch).ok());
  db.Write(&batch);
  CHECK(db.Count('n') == ExpectedNodes(m));
  // And inserting it again pushes it back down.
  m[a] = "5";
  CHECK(Commit(db, *tree, {Put(a, "5")}) == RefRoot(m));
  CheckProof(*tree, 3, m, a);
}

TEST_CASE("values inside leaves and in records of their own, across the 32-byte boundary") {
  TempDb db;
  auto tree = OpenTree(db);
  Model m;
  const size_t sizes[] = {0, 1, 31, 32, 33, 100, 5000};
  std::vector<StateWrite> w;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string k = "size" + std::to_string(i);
    m[k] = std::string(sizes[i], static_cast<char>('a' + i));
    w.push_back(Put(k, m[k]));
  }
  CHECK(Commit(db, *tree, w) == RefRoot(m));
  CHECK(db.Count('v') == 3);  // the values of 33, 100 and 5000 bytes
  // Each key crosses the boundary the other way.
  w.clear();
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string k = "size" + std::to_string(i);
    m[k] = sizes[i] > 32 ? "small" : std::string(40, 'B');
    w.push_back(Put(k, m[k]));
  }
  CHECK(Commit(db, *tree, w) == RefRoot(m));
  for (const auto& [k, v] : m) {
    CheckGet(
        *tree, 1,
        [&] {
          Model old;
          for (size_t i = 0; i < std::size(sizes); ++i) {
            old["size" + std::to_string(i)] = std::string(sizes[i], static_cast<char>('a' + i));
          }
          return old;
        }(),
        k);
    CheckGet(*tree, 2, m, k);
    CheckProof(*tree, 2, m, k);
  }
  tree.reset();
  db.Reopen();
  tree = OpenTree(db, StateTreeOptions{.node_cache_bytes = 0});
  for (const auto& kv : m) CheckProof(*tree, 2, m, kv.first);
  rocksdb::WriteBatch batch;
  REQUIRE(tree->Prune(2, &batch).ok());
  db.Write(&batch);
  CHECK(db.Count('v') == 4);  // the four values now over 32 bytes
}

TEST_CASE("automatic retention keeps the newest versions") {
  TempDb db;
  auto tree = OpenTree(db, StateTreeOptions{.keep_recent_versions = 3});
  Model m;
  for (int v = 1; v <= 10; ++v) {
    std::vector<StateWrite> w = {Put("a", kLarge + std::to_string(v)),
                                 Put("b" + std::to_string(v), kLarge)};
    if (v > 2) w.push_back(Del("b" + std::to_string(v - 2)));
    ApplyToModel(m, w);
    CHECK(Commit(db, *tree, w) == RefRoot(m));
    uint64_t want_oldest = v > 3 ? v - 2 : 0;
    CHECK(tree->OldestVersion() == want_oldest);
  }
  CHECK(*tree->Get(8, B("a")) == std::optional<Bytes>(B(kLarge + "8")));
  CHECK(tree->Get(7, B("a")).status().code() == Code::kNotFound);
  CHECK(db.Count('r') == 3);
  // a: the values of versions 8, 9, 10; b9, b10 live; b7 and b8 (deleted by versions 9 and 10)
  // still readable at version 8.
  CHECK(db.Count('v') == 3 + 2 + 2);
}

// Every record of the state family, with the stale index flattened to a sorted list of entries
// (its chunking may differ between builds of one version; its content may not).
std::map<std::string, std::string> Snapshot(TempDb& db) {
  std::map<std::string, std::string> out;
  std::vector<std::string> stale;
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), db.cf()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string k = it->key().ToString(), v = it->value().ToString();
    if (k[0] != 's') {
      out[k] = v;
      continue;
    }
    for (size_t pos = 0; pos < v.size(); pos += 1 + static_cast<uint8_t>(v[pos])) {
      stale.push_back(k.substr(0, 9) + v.substr(pos + 1, static_cast<uint8_t>(v[pos])));
    }
  }
  std::sort(stale.begin(), stale.end());
  for (size_t i = 0; i < stale.size(); ++i) out["stale#" + std::to_string(i)] = stale[i];
  return out;
}

TEST_CASE("building a version on several threads gives the same records as on one") {
  std::mt19937_64 rng(4242);
  std::vector<std::vector<StateWrite>> versions;
  for (int v = 0; v < 6; ++v) {
    std::vector<StateWrite> w;
    size_t n = v == 3 ? 50 : 1500 + rng() % 3000;  // one small version, built on one thread
    for (size_t i = 0; i < n; ++i) {
      std::string k = "t" + std::to_string(rng() % 6000);
      if (v > 0 && rng() % 4 == 0) {
        w.push_back(Del(k));
      } else {
        w.push_back(Put(k, rng() % 2 ? std::to_string(rng()) : kLarge + std::to_string(rng())));
      }
    }
    versions.push_back(std::move(w));
  }
  TempDb one, many;
  auto t1 = OpenTree(one, StateTreeOptions{.apply_threads = 1});
  auto t4 = OpenTree(many, StateTreeOptions{.apply_threads = 4});
  Model m;
  for (const auto& w : versions) {
    ApplyToModel(m, w);
    Hash256 r1 = Commit(one, *t1, w);
    CHECK(Commit(many, *t4, w) == r1);
    CHECK(r1 == RefRoot(m));
  }
  CHECK(Snapshot(one) == Snapshot(many));
  for (auto* db : {&one, &many}) {
    auto& tree = db == &one ? t1 : t4;
    rocksdb::WriteBatch batch;
    REQUIRE(tree->Prune(5, &batch).ok());
    db->Write(&batch);
  }
  CHECK(Snapshot(one) == Snapshot(many));
  for (int i = 0; i < 6000; i += 13) CheckProof(*t4, 6, m, "t" + std::to_string(i));
}

TEST_CASE("readers of committed versions run while the next version is applied") {
  TempDb db;
  auto tree = OpenTree(db, StateTreeOptions{.node_cache_bytes = 1 << 20});
  Model m;
  std::vector<StateWrite> w;
  for (int i = 0; i < 2000; ++i) w.push_back(Put("r" + std::to_string(i), std::to_string(i)));
  ApplyToModel(m, w);
  Hash256 root1 = Commit(db, *tree, w);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread reader([&] {
    int i = 0;
    while (!stop.load()) {
      std::string k = "r" + std::to_string(i++ % 2000);
      auto got = tree->GetWithProof(1, B(k));
      if (!got.ok() || !VerifyStateProof(root1, B(k), ModelValue(m, k), got->second).ok()) {
        failures.fetch_add(1);
      }
    }
  });
  // A second reader follows the latest version as it moves.
  std::atomic<int> latest_checked{0};
  std::thread follower([&] {
    int i = 0;
    while (!stop.load()) {
      uint64_t v = tree->LatestVersion();
      auto root = tree->Root(v);
      std::string k = "r" + std::to_string(i++ % 2500);
      auto got = tree->GetWithProof(v, B(k));
      if (!root.ok() || !got.ok() || !VerifyStateProof(*root, B(k), got->first, got->second).ok()) {
        failures.fetch_add(1);
      }
      latest_checked.fetch_add(1);
    }
  });
  for (int v = 2; v <= 20; ++v) {
    std::vector<StateWrite> u;
    for (int i = 0; i < 300; ++i) u.push_back(Put("r" + std::to_string((i * 7 + v) % 2500), "u"));
    Commit(db, *tree, u);
  }
  stop.store(true);
  reader.join();
  follower.join();
  CHECK(failures.load() == 0);
  CHECK(latest_checked.load() > 0);
}

}  // namespace
}  // namespace probity::ledger
