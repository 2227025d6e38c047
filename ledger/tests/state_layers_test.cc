// Layers of uncommitted writes: reads fall through, scans merge in key order, deletes hide.
#include "../src/state_layers.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <random>

#include "../src/committed_state.h"
#include "probity/ledger/storage.h"
#include "test_chain.h"

using namespace probity;
using namespace probity::ledger;

namespace {

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string S(ByteView b) { return std::string(AsChars(b)); }

std::vector<std::pair<std::string, std::string>> ScanAll(const KvReader& r,
                                                         const std::string& begin,
                                                         const std::string& end) {
  std::vector<std::pair<std::string, std::string>> out;
  Status st = r.Scan(AsBytes(begin), AsBytes(end), [&](ByteView k, ByteView v) {
    out.emplace_back(S(k), S(v));
    return true;
  });
  REQUIRE(st.ok());
  return out;
}

}  // namespace

TEST_CASE("layers over the flat column family agree with a model under random writes") {
  testing::TempDir dir;
  auto storage = Storage::Open(dir.path(), {}).value();
  std::mt19937 rng(7);
  std::map<std::string, std::string> model;
  rocksdb::WriteBatch batch;
  for (int i = 0; i < 200; ++i) {
    std::string k = "m/" + std::to_string(rng() % 300), v = "v" + std::to_string(i);
    batch.Put(storage->state_flat(), k, v);
    model[k] = v;
  }
  REQUIRE(storage->WriteSynced(&batch).ok());
  FlatReader flat(storage->db(), storage->state_flat());
  Layer block(&flat);
  Layer tx(&block);
  for (int i = 0; i < 300; ++i) {
    Layer& l = (i % 2) ? tx : block;
    std::string k = "m/" + std::to_string(rng() % 400);
    if (rng() % 3 == 0) {
      l.Delete(AsBytes(k));
      model.erase(k);
    } else {
      std::string v = "w" + std::to_string(i);
      l.Set(AsBytes(k), AsBytes(v));
      model[k] = v;
    }
    if (i % 2 == 0) {
      // Writes to the lower layer after the upper one wrote the same key are shadowed, so
      // keep the model honest by re-reading through the top layer.
      auto top = tx.Get(AsBytes(k));
      REQUIRE(top.ok());
      if (*top) {
        model[k] = S(**top);
      } else {
        model.erase(k);
      }
    }
  }
  for (int i = 0; i < 400; ++i) {
    std::string k = "m/" + std::to_string(i);
    auto got = tx.Get(AsBytes(k));
    REQUIRE(got.ok());
    auto it = model.find(k);
    CHECK(got->has_value() == (it != model.end()));
    if (it != model.end() && got->has_value()) CHECK(S(**got) == it->second);
  }
  auto all = ScanAll(tx, "m/", "");
  std::vector<std::pair<std::string, std::string>> want(model.begin(), model.end());
  CHECK(all == want);
  auto part = ScanAll(tx, "m/1", "m/2");
  std::vector<std::pair<std::string, std::string>> want_part;
  for (auto& kv : model) {
    if (kv.first >= "m/1" && kv.first < "m/2") want_part.push_back(kv);
  }
  CHECK(part == want_part);

  tx.MergeInto(&block);
  CHECK(ScanAll(block, "m/", "") == want);
}

TEST_CASE("a prefixed store sees only its slice, with relative keys") {
  testing::TempDir dir;
  auto storage = Storage::Open(dir.path(), {}).value();
  FlatReader flat(storage->db(), storage->state_flat());
  Layer layer(&flat);
  Status fatal;
  const std::vector<std::string> all = {""};
  PrefixedStore bank(&layer, "bank/", &all, &fatal);
  PrefixedStore bankx(&layer, "bankx/", &all, &fatal);
  bank.Set(B("a"), B("1"));
  bank.Set(B("b"), B("2"));
  bankx.Set(B("a"), B("9"));
  CHECK(layer.Get(B("bank/a")).value() == std::optional<Bytes>(B("1")));
  std::vector<std::string> keys;
  REQUIRE(bank.Scan({}, {},
                    [&](ByteView k, ByteView) {
                      keys.push_back(S(k));
                      return true;
                    })
              .ok());
  CHECK(keys == std::vector<std::string>{"a", "b"});
  bank.Delete(B("a"));
  CHECK_FALSE(bank.Get(B("a")).value().has_value());
  CHECK(fatal.ok());
  CHECK(PrefixEnd(AsBytes(std::string("ab\xff\xff"))) == B("ac"));
  CHECK(PrefixEnd(AsBytes(std::string("\xff"))).empty());
}

TEST_CASE("scans are allowed only inside declared prefixes") {
  const std::vector<std::string> declared = {"q/", "book/"};
  auto ok = [&](const std::string& b, const std::string& e) {
    return CheckScanRange(declared, "m", AsBytes(b), AsBytes(e)).ok();
  };
  CHECK(ok("q/", "q0"));        // exactly the prefix
  CHECK(ok("q/abc", "q/abd"));  // inside it
  CHECK(ok("book/", "book0"));
  CHECK_FALSE(ok("q/", ""));   // to the end of the slice: beyond q/
  CHECK_FALSE(ok("q/", "r"));  // past q/
  CHECK_FALSE(ok("b", "c"));   // covers keys outside
  CHECK_FALSE(ok("x/", "x0"));
  auto st = CheckScanRange(declared, "market", AsBytes(std::string("z")), {});
  CHECK(st.code() == Code::kFailedPrecondition);
  CHECK(st.message().find("market") != std::string::npos);
  CHECK(CheckScanRange({""}, "m", AsBytes(std::string("anything")), {}).ok());
}

TEST_CASE("journal: rollback to a mark restores exactly the writes before it") {
  testing::TempDir dir;
  auto storage = Storage::Open(dir.path(), {}).value();
  FlatReader flat(storage->db(), storage->state_flat());
  Layer layer(&flat);
  std::mt19937 rng(99);
  std::map<std::string, std::optional<std::string>> model;  // what the layer holds
  auto snapshot = [&] {
    std::map<std::string, std::optional<std::string>> got;
    for (const auto& [k, v] : layer.writes()) {
      got[S(k)] = v ? std::optional<std::string>(S(*v)) : std::nullopt;
    }
    return got;
  };
  for (int round = 0; round < 200; ++round) {
    size_t mark = layer.Mark();
    auto before = snapshot();
    int ops = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < ops; ++i) {
      std::string k = "k" + std::to_string(rng() % 20);
      if (rng() % 4 == 0) {
        layer.Delete(AsBytes(k));
        model[k] = std::nullopt;
      } else {
        std::string v = "v" + std::to_string(round) + "." + std::to_string(i);
        layer.Set(AsBytes(k), AsBytes(v));
        model[k] = v;
      }
    }
    if (rng() % 3 == 0) {
      layer.Rollback(mark);
      CHECK(snapshot() == before);
      model = before;
    } else {
      CHECK(snapshot() == model);
    }
    layer.ForgetJournal();
  }
  // Nested marks: the inner rollback keeps the outer writes.
  size_t outer = layer.Mark();
  layer.Set(B("outer"), B("1"));
  size_t inner = layer.Mark();
  layer.Set(B("outer"), B("2"));
  layer.Set(B("inner"), B("x"));
  layer.Rollback(inner);
  CHECK(layer.Get(B("outer")).value() == std::optional<Bytes>(B("1")));
  CHECK_FALSE(layer.Get(B("inner")).value().has_value());
  layer.Rollback(outer);
  CHECK_FALSE(layer.Get(B("outer")).value().has_value());
}

TEST_CASE(
    "the last block's view reads what the committed state holds, and only while it is the latest") {
  testing::TempDir dir;
  auto storage = Storage::Open(dir.path(), {}).value();
  auto tree = testing::OpenTestTree(storage.get());
  CommittedState committed(tree.get(), storage->db(), storage->state_flat());
  auto commit = [&](uint64_t version, const std::vector<StateWrite>& writes) {
    rocksdb::WriteBatch batch;
    REQUIRE(tree->ApplyVersion(version, writes, &batch).ok());
    REQUIRE(storage->WriteSynced(&batch).ok());
    tree->MarkCommitted(version);
    committed.SetVersion(version);
  };
  std::vector<StateWrite> v1;
  for (int i = 0; i < 200; ++i) {
    v1.push_back({B("k" + std::to_string(i)), B("one " + std::to_string(i))});
  }
  commit(1, v1);
  // Block 2 changes some keys, deletes one, adds one.
  std::vector<StateWrite> v2 = {{B("k1"), B("two")}, {B("k7"), std::nullopt}, {B("new"), B("n")}};
  commit(2, v2);
  LastBlockView view(&committed, 2, v2);
  for (const std::string k : {"k1", "k7", "new", "k2", "k199", "absent"}) {
    INFO(k);
    CHECK(view.Get(AsBytes(k)).value() == committed.Get(AsBytes(k)).value());
  }
  CHECK(view.Get(AsBytes(std::string("k1"))).value() == std::optional<Bytes>(B("two")));
  CHECK_FALSE(view.Get(AsBytes(std::string("k7"))).value().has_value());
  // A later commit makes the view's writes stale: its reads go to the committed state.
  commit(3, {{B("k1"), B("three")}, {B("k7"), B("back")}});
  CHECK(view.Get(AsBytes(std::string("k1"))).value() == std::optional<Bytes>(B("three")));
  CHECK(view.Get(AsBytes(std::string("k7"))).value() == std::optional<Bytes>(B("back")));
  CHECK(ScanAll(view, "k1", "k2").size() == ScanAll(committed, "k1", "k2").size());
}
