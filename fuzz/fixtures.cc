#include "fixtures.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "probity/contracts/standard_modules.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::fuzz {
namespace {

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "fuzz fixture: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::abort();
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(*r);
}

std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

// A temporary directory, removed at exit.
std::string TempDir(const char* name) {
  std::string t =
      (std::filesystem::temp_directory_path() / (std::string("probity-fuzz-") + name + "-XXXXXX"))
          .string();
  if (::mkdtemp(t.data()) == nullptr) Die("mkdtemp", Status::IOError(t));
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit([] {
      for (const auto& p : TempDirs()) {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    });
  });
  TempDirs().push_back(t);
  return t;
}

}  // namespace

SecretKey FixedKey(int i) {
  return SecretKey::FromBytes(Sha256("probity fuzz key " + std::to_string(i))).value();
}

workloads::Backend& Cpu() {
  static workloads::Backend* cpu =
      Must(workloads::CreateBackend("cpu", {.threads = 1}), "cpu backend").release();
  return *cpu;
}

const verifier::sim::TinyInferJob& InferJob() {
  static const verifier::sim::TinyInferJob* job = new verifier::sim::TinyInferJob(
      Must(verifier::sim::MakeTinyInferJob(
               {.count = 4, .slice = 1, .hidden = 1, .image_seed = 1, .model_seed = 1}, Cpu()),
           "tiny job"));
  return *job;
}

const StateFixture& State() {
  static const StateFixture* fixture = [] {
    auto* f = new StateFixture();
    const std::string dir = TempDir("state");
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status st = rocksdb::DB::Open(o, dir, &raw);
    if (!st.ok()) Die("rocksdb", Status::IOError(st.ToString()));
    std::unique_ptr<rocksdb::DB> db(raw);
    auto tree = Must(ledger::StateTree::Open(db.get(), db->DefaultColumnFamily()), "tree");
    std::vector<ledger::StateWrite> writes;
    for (int i = 0; i < 64; ++i) {
      const std::string k = "fuzz/k/" + std::to_string(i), v = "value " + std::to_string(i);
      writes.push_back({ToBytes(AsBytes(k)), ToBytes(AsBytes(v))});
    }
    rocksdb::WriteBatch batch;
    f->root = Must(tree->ApplyVersion(1, writes, &batch), "apply");
    st = db->Write(rocksdb::WriteOptions(), &batch);
    if (!st.ok()) Die("rocksdb write", Status::IOError(st.ToString()));
    tree->MarkCommitted(1);
    std::vector<Bytes> keys;
    for (const auto& w : writes) keys.push_back(w.key);
    for (const char* absent : {"fuzz/k/64", "fuzz/absent", ""}) {
      keys.push_back(ToBytes(AsBytes(std::string_view(absent))));
    }
    for (const auto& k : keys) {
      auto [value, proof] = Must(tree->GetWithProof(1, k), "proof");
      f->proofs.push_back({k, value, proof});
    }
    tree.reset();
    db.reset();
    return f;
  }();
  return *fixture;
}

ledger::ChainApp& Chain() {
  static ledger::ChainApp* app = [] {
    const std::string dir = TempDir("chain");
    auto* storage = Must(ledger::Storage::Open(dir, {.block_cache_mb = 8}), "storage").release();
    auto tree = Must(ledger::StateTree::Open(storage->db(), storage->state_tree(),
                                             {.node_cache_bytes = size_t{8} << 20}),
                     "tree");
    auto* pool = new ledger::ThreadPool(1);
    auto* a =
        Must(ledger::ChainApp::Open(storage, std::move(tree), contracts::StandardModules(), pool),
             "chain app")
            .release();
    ledger::Genesis g;
    g.chain_id = std::string(kChainId);
    g.time_unix_ms = 1767225600000;
    g.proposer = FixedKey(0).PublicKey();
    // As a chain that settles disputes must: an opening (up to 4 MiB) fits in a transaction.
    g.params.max_tx_bytes = 8u << 20;
    g.params.max_block_bytes = 16u << 20;
    g.modules["bank"] = "{\"balances\":[{\"address\":\"" + EncodeAddress(FixedKey(1).PublicKey()) +
                        "\",\"amount\":\"1000000000000\"}]}";
    if (auto r = a->InitChain(g); !r.ok()) Die("init chain", r.status());
    if (Status s = a->Commit({}); !s.ok()) Die("commit", s);
    return a;
  }();
  return *app;
}

Bytes SignedTx(int signer, uint64_t nonce, std::string_view type_url,
               const google::protobuf::Message& msg) {
  ledger::TxFields f;
  f.chain_id = std::string(kChainId);
  f.nonce = nonce;
  f.fee = 1;
  f.msg_type_url = std::string(type_url);
  std::string v = ledger::SerializeCanonical(msg);
  f.msg_value.assign(v.begin(), v.end());
  f.aux_rand.emplace();
  return Must(ledger::BuildSignedTx(FixedKey(signer), f), "sign");
}

}  // namespace probity::fuzz
