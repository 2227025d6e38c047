// What every off-chain party (provider, verifier, buyer, auditor) needs from the chain: typed
// reads of the marketplace's records, each proven against a signed header, and a signer that
// sends one message per transaction and waits for its commit.
//
// Thread-safety: ChainReader is thread-safe. TxSender serialises its sends internally (nonces
// are strictly increasing per account), so it may be shared by threads.
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/node_client.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/types/v1/result.pb.h"

namespace probity::client {

// Typed, proven reads. nullopt = proven absent.
class ChainReader {
 public:
  explicit ChainReader(std::shared_ptr<const ledger::NodeClient> node) : node_(std::move(node)) {}

  Result<std::optional<jobs::v1::Job>> Job(const Hash256& job_id) const;
  Result<std::optional<market::v1::Order>> Order(const Hash256& order_id) const;
  Result<std::optional<market::v1::Offer>> Offer(const Hash256& offer_id) const;
  Result<uint64_t> Balance(const XOnlyPubKey& account) const;
  // The account's stake record; a default one when it never bonded.
  Result<staking::v1::Stake> Stake(const XOnlyPubKey& account) const;
  Result<jobs::v1::Params> JobsParams() const;
  Result<market::v1::Params> MarketParams() const;
  // The last committed height (from the node's status; unproven).
  Result<uint64_t> Height() const;

  const ledger::NodeClient& node() const { return *node_; }

 private:
  template <typename M>
  Result<std::optional<M>> Read(std::string key) const;
  std::shared_ptr<const ledger::NodeClient> node_;
};

struct TxOutcome {
  Hash256 tx_id{};
  uint64_t height = 0;
  types::v1::TxResult result;  // code 0 here: Send returns an error otherwise
};

class TxSender {
 public:
  TxSender(std::shared_ptr<const ledger::NodeClient> node, ledger::Genesis genesis, SecretKey key);

  const XOnlyPubKey& account() const { return account_; }
  const ledger::Genesis& genesis() const { return genesis_; }

  // Signs a transaction carrying `msg` (type URL = the message's full proto name), submits it
  // and waits until it is committed. The nonce is tracked locally and re-read from the chain
  // after a nonce rejection (the message is then retried once). Errors: kUnavailable when the
  // node cannot be reached, kDeadlineExceeded when it was not committed within `timeout`
  // (the transaction may still commit later), kFailedPrecondition carrying the node's or the
  // module's code and log when it was refused or failed in its block.
  Result<TxOutcome> Send(const google::protobuf::Message& msg,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  Result<uint64_t> ChainNonce() const;

  std::shared_ptr<const ledger::NodeClient> node_;
  ledger::Genesis genesis_;
  SecretKey key_;
  XOnlyPubKey account_;
  std::mutex mu_;
  std::optional<uint64_t> next_nonce_;  // guarded by mu_
};

// The value of an event attribute; nullopt when absent.
std::optional<std::string> EventAttribute(const types::v1::Event& event, std::string_view key);
// A 32-byte id attribute written in hex (job_id, offer_id, ...); kInvalidArgument otherwise.
Result<Hash256> EventId(const types::v1::Event& event, std::string_view key);

}  // namespace probity::client
