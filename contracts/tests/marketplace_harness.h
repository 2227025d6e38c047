// TEST ONLY: doctest front of the simulation chain (probity/marketsim/sim_chain.h): bank +
// staking + market + jobs in-process, block by block, with the marketplace's invariants
// checked after every block; every call REQUIREs success.
#pragma once

#include <google/protobuf/message.h>

#include <memory>
#include <string>
#include <vector>

#include "probity/contracts/bank.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/staking.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/marketsim/sim_chain.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/workloads/dataset.h"

namespace probity::contracts::testing {

// accounts (default 16): TestKey(1..accounts), each funded with `balance`; genesis sections
// (empty: the module's defaults); the data catalog of the referee; invariant checks on/off.
using HarnessOptions = marketsim::ChainOptions;

class Marketplace {
 public:
  explicit Marketplace(const HarnessOptions& options = {});
  ~Marketplace();

  static XOnlyPubKey Account(int i) { return marketsim::SimChain::Account(i); }

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

  uint64_t height() const { return chain_->height(); }
  ledger::ChainApp& app() { return chain_->app(); }
  marketsim::SimChain& chain() { return *chain_; }
  uint64_t Balance(const XOnlyPubKey& account);
  uint64_t genesis_supply() const { return chain_->genesis_supply(); }

  // Module queries (REQUIRE success).
  Bytes Query(const std::string& path, const google::protobuf::Message& request);
  market::v1::Order Order(const Hash256& id);
  market::v1::Offer Offer(const Hash256& id);
  jobs::v1::QueryJobResponse Job(const Hash256& id);
  staking::v1::QueryStakeResponse Stake(int account);
  market::v1::ProviderRecord Record(int provider);

  Status CheckInvariants() { return chain_->CheckInvariants(); }
  // SimChain::ModuleStateDigest: equal before and after a message means it changed nothing.
  Hash256 ModuleStateDigest();

  // Every event of the last block (transactions, then begin/end-block hooks).
  const std::vector<types::v1::Event>& last_events() const { return chain_->last_events(); }

 private:
  std::unique_ptr<marketsim::SimChain> chain_;
};

inline bool ParseBytes(google::protobuf::Message* m, const Bytes& b) {
  return m->ParseFromArray(b.data(), static_cast<int>(b.size()));
}

// Signed-message helpers.
using marketsim::HashBytes;
using marketsim::OfferIdOf;
using marketsim::OrderIdOf;
Hash256 FromField(const std::string& s);

}  // namespace probity::contracts::testing
