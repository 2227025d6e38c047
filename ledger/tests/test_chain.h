// TEST ONLY: helpers for ledger tests: temporary directories, deterministic keys, and a chain
// (Storage + state tree + ChainApp) that executes and commits blocks in-process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "probity/ledger/chain_app.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"

namespace probity::ledger::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The i-th key of a fixed sequence (same keys in every run).
SecretKey TestKey(uint64_t i);

// A genesis for chain "test-chain", proposer TestKey(0), with the given module sections.
Genesis TestGenesis(std::map<std::string, std::string> modules = {});

// The real state tree over storage->state_tree(), with a small cache.
std::unique_ptr<StateTree> OpenTestTree(Storage* storage);

class TestChain {
 public:
  // Opens (or reopens) the chain stored in `dir`; runs InitChain + Commit when it is empty.
  static Result<std::unique_ptr<TestChain>> Open(const std::string& dir, const Genesis& genesis,
                                                 ModuleSet modules);
  ChainApp& app() { return *app_; }
  Storage& storage() { return *storage_; }

  // Executes `txs` as the next block (time = previous + 1 s) and commits it.
  Result<FinalizeBlockResponse> ExecuteBlock(const std::vector<Bytes>& txs);

 private:
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ChainApp> app_;
  Genesis genesis_;
};

}  // namespace probity::ledger::testing
