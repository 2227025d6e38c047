#include "chain_port.h"

namespace probity::provider {
namespace {

class NodeChainPort final : public ChainPort {
 public:
  NodeChainPort(std::shared_ptr<const ledger::NodeClient> node, ledger::Genesis genesis,
                SecretKey key)
      : node_(node), reader_(node), sender_(node, std::move(genesis), std::move(key)) {}

  Result<std::optional<jobs::v1::Job>> Job(const Hash256& id) override { return reader_.Job(id); }
  Result<std::optional<market::v1::Order>> Order(const Hash256& id) override {
    return reader_.Order(id);
  }
  Result<staking::v1::Stake> Stake(const XOnlyPubKey& a) override { return reader_.Stake(a); }
  Result<uint64_t> Height() override { return reader_.Height(); }
  Result<market::v1::Params> MarketParams() override { return reader_.MarketParams(); }
  Result<staking::v1::Params> StakingParams() override {
    PROBITY_ASSIGN_OR_RETURN(Bytes reply, node_->QueryModule("staking/params", {}));
    staking::v1::Params p;
    if (!p.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
      return Status::Corruption("staking/params: the node's reply does not parse");
    }
    return p;
  }
  Result<market::v1::QueryProviderResponse> ProviderOffers(const XOnlyPubKey& provider) override {
    market::v1::QueryProviderRequest req;
    req.set_address(provider.data(), provider.size());
    const std::string body = req.SerializeAsString();
    PROBITY_ASSIGN_OR_RETURN(Bytes reply, node_->QueryModule("market/provider", AsBytes(body)));
    market::v1::QueryProviderResponse resp;
    if (!resp.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
      return Status::Corruption("market/provider: the node's reply does not parse");
    }
    return resp;
  }
  Result<client::TxOutcome> Send(const google::protobuf::Message& msg,
                                 std::chrono::milliseconds timeout) override {
    return sender_.Send(msg, timeout);
  }

 private:
  std::shared_ptr<const ledger::NodeClient> node_;
  client::ChainReader reader_;
  client::TxSender sender_;
};

}  // namespace

std::unique_ptr<ChainPort> NewNodeChainPort(std::shared_ptr<const ledger::NodeClient> node,
                                            ledger::Genesis genesis, SecretKey key) {
  return std::make_unique<NodeChainPort>(std::move(node), std::move(genesis), std::move(key));
}

}  // namespace probity::provider
