// TEST ONLY: a chain running bank + staking + market + jobs in-process, block by block, with
// block hashes (so sampling seeds differ per block, as on a real chain), the marketplace's
// invariants checked after every block, and helpers to sign and send messages.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "probity/contracts/bank.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/staking.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/workloads/dataset.h"
#include "test_chain.h"

namespace probity::contracts::testing {

struct HarnessOptions {
  int accounts = 16;  // TestKey(1..accounts), each funded with `balance`
  uint64_t balance = 1'000'000'000'000;
  // Genesis sections; empty means the module's defaults.
  std::string staking_json, market_json, jobs_json;
  workloads::DataCatalog* catalog = &workloads::DataCatalog::Default();
  uint64_t max_tx_bytes = 8u << 20;  // openings are up to 4 MiB
  bool check_invariants = true;
};

class Marketplace {
 public:
  explicit Marketplace(const HarnessOptions& options = {});
  ~Marketplace();

  static XOnlyPubKey Account(int i) { return ledger::testing::TestKey(i).PublicKey(); }

  // A signed transaction from account `signer` with its next nonce.
  Bytes Tx(int signer, std::string_view type_url, const google::protobuf::Message& msg,
           uint64_t fee = 1);
  // Executes the next block (REQUIREs that it executes and that the invariants hold after it).
  ledger::FinalizeBlockResponse Block(const std::vector<Bytes>& txs = {});
  // One message in its own block; its result.
  types::v1::TxResult Run(int signer, std::string_view type_url,
                          const google::protobuf::Message& msg);
  // Empty blocks until the chain's height is `height`.
  void AdvanceTo(uint64_t height);

  uint64_t height() const;
  ledger::ChainApp& app() { return chain_->app(); }
  uint64_t Balance(const XOnlyPubKey& account);
  uint64_t genesis_supply() const { return supply_; }

  // Module queries (REQUIRE success).
  Bytes Query(const std::string& path, const google::protobuf::Message& request);
  market::v1::Order Order(const Hash256& id);
  market::v1::Offer Offer(const Hash256& id);
  jobs::v1::QueryJobResponse Job(const Hash256& id);
  staking::v1::QueryStakeResponse Stake(int account);
  market::v1::ProviderRecord Record(int provider);

  // All the marketplace's invariants over committed state; a message naming the first broken.
  Status CheckInvariants();
  // SHA-256 over the marketplace modules' state that the tests can name: every key under their
  // scan prefixes, and the records of every order, offer and job an event ever named, every
  // test account's stake and provider record, and the modules' counters. Equal before and
  // after a message means the message changed none of it.
  Hash256 ModuleStateDigest();

  // Every event of the last block (transactions, then begin/end-block hooks).
  const std::vector<types::v1::Event>& last_events() const { return last_events_; }

 private:
  void Resync();
  std::optional<Bytes> StoreGet(const Bytes& full_key);  // committed state, by the tree
  void NoteIds(const std::vector<types::v1::Event>& events);
  std::vector<XOnlyPubKey> KnownAccounts() const;

  HarnessOptions options_;
  ledger::testing::TempDir dir_;
  std::unique_ptr<ledger::testing::TestChain> chain_;
  std::map<int, uint64_t> next_nonce_;
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

inline bool ParseBytes(google::protobuf::Message* m, const Bytes& b) {
  return m->ParseFromArray(b.data(), static_cast<int>(b.size()));
}

// Signed-message helpers.
std::string HashBytes(const Hash256& h);
Hash256 FromField(const std::string& s);
// The id of the order / offer placed by the transaction `tx`.
Hash256 OrderIdOf(const Bytes& tx);
Hash256 OfferIdOf(const Bytes& tx);

}  // namespace probity::contracts::testing
