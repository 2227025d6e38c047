// `probity market`: the order book of each job kind (offers and orders by price level) and the
// recent trade prices, from the market module's queries.
#include <iostream>

#include "command.h"
#include "probity/ledger/node_client.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/hex.h"

namespace probity::cli {
namespace {

struct KindName {
  market::v1::JobKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{market::v1::JOB_KIND_TRAIN_CLASSIFIER, "train-classifier"},
                               {market::v1::JOB_KIND_INFER_CLASSIFIER, "infer-classifier"}};

template <typename Resp, typename Req>
Result<Resp> Ask(const ledger::NodeClient& node, const std::string& path, const Req& req) {
  std::string bytes = req.SerializeAsString();
  PROBITY_ASSIGN_OR_RETURN(Bytes out, node.QueryModule(path, AsBytes(bytes)));
  Resp resp;
  if (!resp.ParseFromArray(out.data(), static_cast<int>(out.size()))) {
    return Status::Corruption("the node's answer to " + path + " does not parse");
  }
  return resp;
}

std::string LevelsJson(const google::protobuf::RepeatedPtrField<market::v1::DepthLevel>& ls) {
  std::string s = "[";
  for (const auto& l : ls) {
    if (s.size() > 1) s += ",";
    s += "{\"price_per_unit\":" + std::to_string(l.price_per_unit()) +
         ",\"quantity\":" + std::to_string(l.quantity()) +
         ",\"count\":" + std::to_string(l.count()) + "}";
  }
  return s + "]";
}

int RunMarket(const Args& args) {
  if (Status s = args.CheckKnown(
          {"home", "node", "genesis", "kind", "levels", "trades", "json", "tls", "tls-ca"});
      !s.ok()) {
    return Fail(args, s);
  }
  ledger::NodeHome home{HomeDir(args)};
  auto setup =
      ledger::ConnectFromHome(home, args.GetOr("node", ""), args.GetOr("genesis", ""),
                              {.enabled = args.Has("tls"), .ca_file = args.GetOr("tls-ca", "")});
  if (!setup.ok()) return Fail(args, setup.status());
  auto levels = args.GetU64("levels", 10);
  auto ntrades = args.GetU64("trades", 10);
  if (!levels.ok()) return Fail(args, levels.status());
  if (!ntrades.ok()) return Fail(args, ntrades.status());
  const std::string only = args.GetOr("kind", "");
  std::string json = "{\"ok\":true,\"kinds\":[";
  bool any = false;
  for (const auto& k : kKinds) {
    if (!only.empty() && only != k.name) continue;
    any = true;
    market::v1::QueryDepthRequest dreq;
    dreq.set_kind(k.kind);
    dreq.set_levels(static_cast<uint32_t>(*levels));
    auto depth = Ask<market::v1::QueryDepthResponse>(*setup->client, "market/depth", dreq);
    if (!depth.ok()) return Fail(args, depth.status());
    market::v1::QueryTradesRequest treq;
    treq.set_kind(k.kind);
    treq.set_limit(static_cast<uint32_t>(*ntrades));
    auto trades = Ask<market::v1::QueryTradesResponse>(*setup->client, "market/trades", treq);
    if (!trades.ok()) return Fail(args, trades.status());
    if (args.json()) {
      if (json.back() == '}') json += ",";
      json += "{\"kind\":" + JsonString(k.name) + ",\"offers\":" + LevelsJson(depth->asks()) +
              ",\"orders\":" + LevelsJson(depth->bids()) + ",\"recent_prices\":[";
      bool first = true;
      for (const auto& t : trades->trades()) {
        if (!first) json += ",";
        first = false;
        json += "{\"height\":" + std::to_string(t.height()) +
                ",\"price_per_unit\":" + std::to_string(t.price_per_unit()) +
                ",\"units\":" + std::to_string(t.units()) + "}";
      }
      json += "]}";
      continue;
    }
    std::cout << k.name << "\n  offers (free capacity, cheapest first):\n";
    if (depth->asks().empty()) std::cout << "    none\n";
    for (const auto& l : depth->asks()) {
      std::cout << "    " << l.price_per_unit() << " per unit  x" << l.quantity() << " jobs  ("
                << l.count() << " offers)\n";
    }
    std::cout << "  orders waiting (highest first):\n";
    if (depth->bids().empty()) std::cout << "    none\n";
    for (const auto& l : depth->bids()) {
      std::cout << "    " << l.price_per_unit() << " per unit  " << l.quantity() << " units  ("
                << l.count() << " orders)\n";
    }
    std::cout << "  recent prices:";
    if (trades->trades().empty()) std::cout << " none";
    for (const auto& t : trades->trades()) std::cout << " " << t.price_per_unit();
    std::cout << "\n";
  }
  if (!any) return Fail(args, Status::InvalidArgument("unknown --kind '" + only + "'"));
  if (args.json()) std::cout << json << "]}\n";
  return 0;
}

}  // namespace

PROBITY_COMMAND({.path = "market",
                 .usage = "probity market [--kind KIND] [--levels N] [--trades N] [--node "
                          "HOST:PORT] [--home DIR] [--tls | --tls-ca FILE] [--json]",
                 .summary = "the order book (offers, orders) and recent prices",
                 .bool_flags = {"json", "tls"},
                 .run = RunMarket});

}  // namespace probity::cli
