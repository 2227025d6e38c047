// What the provider needs from the chain, as one interface: the daemon's implementation reads
// through client::ChainReader (proven against signed headers) and sends through
// client::TxSender; the unit tests put a fake chain behind it.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <memory>
#include <optional>

#include "probity/client/chain.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/staking/v1/staking.pb.h"

namespace probity::provider {

class ChainPort {
 public:
  virtual ~ChainPort() = default;

  virtual Result<std::optional<jobs::v1::Job>> Job(const Hash256& job_id) = 0;
  virtual Result<std::optional<market::v1::Order>> Order(const Hash256& order_id) = 0;
  virtual Result<staking::v1::Stake> Stake(const XOnlyPubKey& account) = 0;
  virtual Result<uint64_t> Height() = 0;
  virtual Result<market::v1::Params> MarketParams() = 0;
  virtual Result<staking::v1::Params> StakingParams() = 0;
  // Query "market/provider": the provider's record and its offers.
  virtual Result<market::v1::QueryProviderResponse> ProviderOffers(const XOnlyPubKey& provider) = 0;
  // Signs `msg` with the provider's key, submits it and waits for its block (TxSender::Send's
  // contract and errors).
  virtual Result<client::TxOutcome> Send(const google::protobuf::Message& msg,
                                         std::chrono::milliseconds timeout) = 0;
};

// The chain through `node`, signing with `key`.
std::unique_ptr<ChainPort> NewNodeChainPort(std::shared_ptr<const ledger::NodeClient> node,
                                            ledger::Genesis genesis, SecretKey key);

}  // namespace probity::provider
