#include "test_chain.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "probity/primitives/sha256.h"

namespace probity::ledger::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/probity-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

SecretKey TestKey(uint64_t i) {
  return SecretKey::FromBytes(Sha256("probity test key " + std::to_string(i))).value();
}

Genesis TestGenesis(std::map<std::string, std::string> modules) {
  Genesis g;
  g.chain_id = "test-chain";
  g.time_unix_ms = 1767225600000;
  g.proposer = TestKey(0).PublicKey();
  g.modules = std::move(modules);
  return g;
}

std::unique_ptr<StateTree> OpenTestTree(Storage* storage) {
  StateTreeOptions o;
  o.node_cache_bytes = 16u << 20;
  auto t = StateTree::Open(storage->db(), storage->state_tree(), o);
  if (!t.ok()) std::abort();
  return std::move(*t);
}

Result<std::unique_ptr<TestChain>> TestChain::Open(const std::string& dir, const Genesis& genesis,
                                                   ModuleSet modules) {
  auto c = std::unique_ptr<TestChain>(new TestChain());
  c->genesis_ = genesis;
  PROBITY_ASSIGN_OR_RETURN(c->storage_, Storage::Open(dir, Storage::Options{.block_cache_mb = 16}));
  c->pool_ = std::make_unique<ThreadPool>(2);
  PROBITY_ASSIGN_OR_RETURN(c->app_,
                           ChainApp::Open(c->storage_.get(), OpenTestTree(c->storage_.get()),
                                          std::move(modules), c->pool_.get()));
  if (!c->app_->Info().initialised) {
    PROBITY_RETURN_IF_ERROR(c->app_->InitChain(genesis).status());
    PROBITY_RETURN_IF_ERROR(c->app_->Commit({}));
  }
  return c;
}

Result<FinalizeBlockResponse> TestChain::ExecuteBlock(const std::vector<Bytes>& txs) {
  InfoResponse info = app_->Info();
  FinalizeBlockRequest req;
  req.block.chain_id = info.chain_id;
  req.block.height = info.last_height + 1;
  req.block.time_unix_ms = genesis_.time_unix_ms + static_cast<int64_t>(req.block.height) * 1000;
  req.block.proposer = genesis_.proposer;
  req.txs = txs;
  PROBITY_ASSIGN_OR_RETURN(auto resp, app_->FinalizeBlock(req));
  PROBITY_RETURN_IF_ERROR(app_->Commit({}));
  return resp;
}

}  // namespace probity::ledger::testing
