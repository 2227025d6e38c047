#include "marketplace_harness.h"

#include <doctest/doctest.h>

namespace probity::contracts::testing {
namespace {

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(*r);
}

}  // namespace

Hash256 FromField(const std::string& s) { return Must(marketsim::FromField(s)); }

Marketplace::Marketplace(const HarnessOptions& options)
    : chain_(Must(marketsim::SimChain::Open(options))) {}

Marketplace::~Marketplace() = default;

Bytes Marketplace::Tx(int signer, std::string_view type_url, const google::protobuf::Message& msg,
                      uint64_t fee) {
  return Must(chain_->Tx(signer, type_url, msg, fee));
}

ledger::FinalizeBlockResponse Marketplace::Block(const std::vector<Bytes>& txs) {
  return Must(chain_->Block(txs));
}

types::v1::TxResult Marketplace::Run(int signer, std::string_view type_url,
                                     const google::protobuf::Message& msg) {
  auto r = Block({Tx(signer, type_url, msg)});
  REQUIRE(r.tx_results.size() == 1);
  return r.tx_results[0];
}

void Marketplace::AdvanceTo(uint64_t h) {
  while (height() < h) Block();
}

uint64_t Marketplace::Balance(const XOnlyPubKey& account) { return Must(chain_->Balance(account)); }
Bytes Marketplace::Query(const std::string& path, const google::protobuf::Message& request) {
  return Must(chain_->Query(path, request));
}
market::v1::Order Marketplace::Order(const Hash256& id) { return Must(chain_->Order(id)); }
market::v1::Offer Marketplace::Offer(const Hash256& id) { return Must(chain_->Offer(id)); }
jobs::v1::QueryJobResponse Marketplace::Job(const Hash256& id) { return Must(chain_->Job(id)); }
staking::v1::QueryStakeResponse Marketplace::Stake(int account) {
  return Must(chain_->Stake(account));
}
market::v1::ProviderRecord Marketplace::Record(int provider) {
  return Must(chain_->Record(provider));
}
Hash256 Marketplace::ModuleStateDigest() { return Must(chain_->ModuleStateDigest()); }

}  // namespace probity::contracts::testing
