// Typed proven reads and the one-message-per-transaction signer (chain.h).
#include "probity/client/chain.h"

#include <thread>

#include "probity/contracts/bank.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"

namespace probity::client {
namespace {

Bytes Key(std::string_view prefix, const Hash256& id) {
  Bytes k(prefix.begin(), prefix.end());
  k.insert(k.end(), id.begin(), id.end());
  return k;
}

}  // namespace

template <typename M>
Result<std::optional<M>> ChainReader::Read(std::string key) const {
  PROBITY_ASSIGN_OR_RETURN(auto answer, node_->QueryStore(AsBytes(key)));
  if (!answer.second) return std::optional<M>();
  M m;
  if (!m.ParseFromArray(answer.second->data(), static_cast<int>(answer.second->size()))) {
    return Status::Corruption("the record under '" + key.substr(0, key.find('/') + 2) +
                              "...' does not parse");
  }
  return std::optional<M>(std::move(m));
}

Result<std::optional<jobs::v1::Job>> ChainReader::Job(const Hash256& job_id) const {
  Bytes k = Key("jobs/j/", job_id);
  return Read<jobs::v1::Job>(std::string(k.begin(), k.end()));
}

Result<std::optional<market::v1::Order>> ChainReader::Order(const Hash256& order_id) const {
  Bytes k = Key("market/o/", order_id);
  return Read<market::v1::Order>(std::string(k.begin(), k.end()));
}

Result<std::optional<market::v1::Offer>> ChainReader::Offer(const Hash256& offer_id) const {
  Bytes k = Key("market/f/", offer_id);
  return Read<market::v1::Offer>(std::string(k.begin(), k.end()));
}

Result<uint64_t> ChainReader::Balance(const XOnlyPubKey& account) const {
  PROBITY_ASSIGN_OR_RETURN(auto answer, node_->QueryStore(contracts::Bank::BalanceKey(account)));
  if (!answer.second) return uint64_t{0};
  if (answer.second->size() != 8) return Status::Corruption("a stored balance is not 8 bytes");
  return GetU64LE(answer.second->data());
}

Result<staking::v1::Stake> ChainReader::Stake(const XOnlyPubKey& account) const {
  Bytes k = Key("staking/s/", account);
  PROBITY_ASSIGN_OR_RETURN(auto stake, Read<staking::v1::Stake>(std::string(k.begin(), k.end())));
  return stake ? *stake : staking::v1::Stake();
}

Result<jobs::v1::Params> ChainReader::JobsParams() const {
  PROBITY_ASSIGN_OR_RETURN(auto p, Read<jobs::v1::Params>("jobs/params"));
  if (!p) return Status::NotFound("the chain has no jobs params (not a marketplace genesis?)");
  return *p;
}

Result<market::v1::Params> ChainReader::MarketParams() const {
  PROBITY_ASSIGN_OR_RETURN(auto p, Read<market::v1::Params>("market/params"));
  if (!p) return Status::NotFound("the chain has no market params (not a marketplace genesis?)");
  return *p;
}

Result<uint64_t> ChainReader::Height() const {
  PROBITY_ASSIGN_OR_RETURN(auto status, node_->GetStatus());
  return status.height();
}

TxSender::TxSender(std::shared_ptr<const ledger::NodeClient> node, ledger::Genesis genesis,
                   SecretKey key)
    : node_(std::move(node)),
      genesis_(std::move(genesis)),
      key_(std::move(key)),
      account_(key_.PublicKey()) {}

Result<uint64_t> TxSender::ChainNonce() const {
  PROBITY_ASSIGN_OR_RETURN(auto last, node_->QueryStore(ledger::NonceKey(account_)));
  const auto& v = last.second;
  if (v && v->size() != 8) return Status::Corruption("a stored nonce is not 8 bytes");
  return (v ? GetU64LE(v->data()) : 0) + 1;
}

Result<TxOutcome> TxSender::Send(const google::protobuf::Message& msg,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ledger::TxFields f;
  f.chain_id = genesis_.chain_id;
  f.fee = genesis_.params.min_fee;
  f.msg_type_url = msg.GetDescriptor()->full_name();
  std::string value = ledger::SerializeCanonical(msg);
  f.msg_value.assign(value.begin(), value.end());

  Hash256 tx_id{};
  {
    // Nonces must reach the mempool in order: assignment and submission happen under the lock;
    // waiting for the commit does not.
    std::lock_guard<std::mutex> lock(mu_);
    for (int attempt = 0;; ++attempt) {
      if (!next_nonce_) {
        PROBITY_ASSIGN_OR_RETURN(uint64_t n, ChainNonce());
        next_nonce_ = n;
      }
      f.nonce = *next_nonce_;
      PROBITY_ASSIGN_OR_RETURN(Bytes tx, ledger::BuildSignedTx(key_, f));
      PROBITY_ASSIGN_OR_RETURN(node::v1::SubmitTxResponse resp,
                               node_->Submit(tx, false, std::chrono::milliseconds(0)));
      if (resp.code() == 0) {
        ++*next_nonce_;
        tx_id = ledger::TxId(tx);
        break;
      }
      const bool nonce_problem =
          resp.codespace() == ledger::kLedgerCodespace &&
          (resp.code() == static_cast<uint32_t>(ledger::TxCode::kNonceUsed) ||
           resp.code() == static_cast<uint32_t>(ledger::TxCode::kNonceGap));
      if (nonce_problem && attempt == 0) {
        next_nonce_.reset();  // another client used this key, or a pending tx was dropped
        continue;
      }
      return Status::FailedPrecondition("the node refused " + f.msg_type_url + " (" +
                                        resp.codespace() + " code " + std::to_string(resp.code()) +
                                        "): " + resp.log());
    }
  }

  auto poll = std::chrono::milliseconds(20);
  for (;;) {
    auto proven = node_->GetTx(tx_id);
    if (proven.ok()) {
      if (proven->result().code() != 0) {
        return Status::FailedPrecondition(
            f.msg_type_url + " failed in block " + std::to_string(proven->height()) + " (" +
            proven->result().codespace() + " code " + std::to_string(proven->result().code()) +
            "): " + proven->result().log());
      }
      TxOutcome out;
      out.tx_id = tx_id;
      out.height = proven->height();
      out.result = proven->result();
      return out;
    }
    if (proven.status().code() != Code::kNotFound) return proven.status();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::DeadlineExceeded("transaction " + ToHex(tx_id) + " (" + f.msg_type_url +
                                      ") was not committed in time; it may still commit");
    }
    std::this_thread::sleep_for(poll);
    poll = std::min(poll * 2, std::chrono::milliseconds(200));
  }
}

std::optional<std::string> EventAttribute(const types::v1::Event& event, std::string_view key) {
  for (const auto& a : event.attributes()) {
    if (a.key() == key) return a.value();
  }
  return std::nullopt;
}

Result<Hash256> EventId(const types::v1::Event& event, std::string_view key) {
  auto v = EventAttribute(event, key);
  if (!v) {
    return Status::InvalidArgument("event " + event.type() + " has no attribute '" +
                                   std::string(key) + "'");
  }
  auto bytes = FromHex(*v);
  if (!bytes.ok() || bytes->size() != 32) {
    return Status::InvalidArgument("event " + event.type() + " attribute '" + std::string(key) +
                                   "' is not a 32-byte hex id");
  }
  Hash256 h;
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

}  // namespace probity::client
