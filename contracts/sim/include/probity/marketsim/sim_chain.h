// An in-process chain for simulations: bank + staking + market + jobs on the real ChainApp,
// state tree and RocksDB (in a temporary directory, removed at the end), executed block by
// block with per-block hashes (so sampling seeds differ per block, as on a real chain), with
// numbered accounts, transaction signing, module queries, and the marketplace's invariants
// checked after every block.
//
// Accounts: account i (1..accounts) has the key Key(i), funded at genesis with `balance`; the
// keys are ledger::testing::TestKey's sequence, so that tests can mix the two. Transactions are
// signed with fixed BIP-340 auxiliary randomness, so the same calls give the same transaction
// ids (and order ids, job ids and samples) in every run.
//
// Invariants (CheckInvariants; docs/protocol.md section 6): the sum of all balances is the
// genesis supply; the market holds exactly the open orders' escrow; the jobs module holds
// exactly the bonds of open disputes; every account's stake locks match its unsettled jobs;
// the staking account holds every bonded and unbonding amount and the verifier weights add up;
// the book names only open orders and listed offers with free capacity; each book side's top
// record is its first entry.
//
// Thread-safety: one thread at a time.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/keys.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/types/v1/result.pb.h"
#include "probity/workloads/dataset.h"

namespace probity::marketsim {

struct ChainOptions {
  std::string chain_id = "test-chain";
  int accounts = 16;  // Key(1..accounts), each funded with `balance`
  uint64_t balance = 1'000'000'000'000;
  // Genesis sections; empty means the module's defaults.
  std::string staking_json, market_json, jobs_json;
  workloads::DataCatalog* catalog = &workloads::DataCatalog::Default();  // not owned
  uint64_t max_tx_bytes = 8u << 20;                                      // openings are up to 4 MiB
  bool check_invariants = true;
};

class SimChain {
 public:
  // A fresh chain in a new temporary directory, at height 0 after genesis.
  static Result<std::unique_ptr<SimChain>> Open(const ChainOptions& options);
  ~SimChain();

  static SecretKey Key(int i);
  static XOnlyPubKey Account(int i) { return Key(i).PublicKey(); }
  // The account number of `key` among 1..accounts, or 0.
  int AccountIndex(const XOnlyPubKey& key) const;

  // A signed transaction from account `signer` with its next nonce.
  Result<Bytes> Tx(int signer, std::string_view type_url, const google::protobuf::Message& msg,
                   uint64_t fee = 1);
  // Executes and commits the next block (time: genesis + height seconds), and checks the
  // invariants when enabled (kInternal naming the first broken one).
  Result<ledger::FinalizeBlockResponse> Block(const std::vector<Bytes>& txs = {});

  uint64_t height() const;
  ledger::ChainApp& app() { return *app_; }
  ledger::Storage& storage() { return *storage_; }
  uint64_t genesis_supply() const { return supply_; }
  const ChainOptions& options() const { return options_; }
  // Every event of the last block (transactions, then begin/end-block hooks).
  const std::vector<types::v1::Event>& last_events() const { return last_events_; }

  // Committed state.
  Result<uint64_t> Balance(const XOnlyPubKey& account);
  Result<Bytes> Query(const std::string& path, const google::protobuf::Message& request);
  Result<market::v1::Order> Order(const Hash256& id);
  Result<market::v1::Offer> Offer(const Hash256& id);
  Result<jobs::v1::QueryJobResponse> Job(const Hash256& id);
  Result<staking::v1::QueryStakeResponse> Stake(int account);
  Result<market::v1::ProviderRecord> Record(int provider);

  // All the invariants above over committed state.
  Status CheckInvariants();
  // SHA-256 over the marketplace modules' state that can be named: every key under their scan
  // prefixes, and the records of every order, offer and job an event ever named, every
  // account's stake and provider record, and the modules' counters. Equal before and after a
  // message means the message changed none of it.
  Result<Hash256> ModuleStateDigest();

 private:
  SimChain() = default;
  std::optional<Bytes> StoreGet(const Bytes& full_key, Status* error);
  Status NoteIds(const std::vector<types::v1::Event>& events);
  std::vector<XOnlyPubKey> KnownAccounts() const;

  ChainOptions options_;
  std::string dir_;
  std::unique_ptr<ledger::Storage> storage_;
  std::unique_ptr<ledger::ThreadPool> pool_;
  std::unique_ptr<ledger::ChainApp> app_;
  std::map<int, uint64_t> next_nonce_;
  std::map<XOnlyPubKey, int> index_;
  uint64_t supply_ = 0;
  Hash256 last_block_hash_{};
  std::vector<types::v1::Event> last_events_;
  // Ids named by events so far (orders, which are also job ids; offers), those named by the
  // last block, and what the invariant check last read of each.
  std::set<Hash256> orders_, offers_, touched_;
  std::map<Hash256, uint64_t> escrow_;
  std::map<Hash256, jobs::v1::Job> jobs_;
  uint64_t blocks_checked_ = 0;
};

// Field helpers: a Hash256 as a 32-byte protobuf `bytes` field and back.
std::string HashBytes(const Hash256& h);
Result<Hash256> FromField(const std::string& s);
// The id of the order / offer placed by the transaction `tx`.
Hash256 OrderIdOf(const Bytes& tx);
Hash256 OfferIdOf(const Bytes& tx);

}  // namespace probity::marketsim
