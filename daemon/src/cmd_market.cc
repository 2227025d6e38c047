// `probity market economics`: the expected profit of every provider strategy under the genesis
// defaults (contracts/jobs economics.h), as a table for people, JSON lines, or the Markdown of
// docs/economics.md (--markdown).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "probity/contracts/economics.h"

namespace probity::cli {
namespace {

int MarketEconomics(const Args& args) {
  if (auto s = args.CheckKnown({"markdown", "cost-ratio", "payment", "segments"}); !s.ok()) {
    return Fail(args, s);
  }
  contracts::EconomicsInputs in = contracts::EconomicsInputs::Defaults();
  auto payment = args.GetU64("payment", in.payment);
  auto segments = args.GetU64("segments", in.segments);
  if (!payment.ok()) return Fail(args, payment.status());
  if (!segments.ok()) return Fail(args, segments.status());
  if (*payment == 0 || *segments == 0) {
    return Fail(args, Status::InvalidArgument("--payment and --segments must be positive"));
  }
  in.payment = *payment;
  in.segments = *segments;
  if (auto c = args.Get("cost-ratio")) {
    char* end = nullptr;
    double v = std::strtod(c->c_str(), &end);
    if (end == c->c_str() || *end != '\0' || !(v >= 0) || v > 100) {
      return Fail(args, Status::InvalidArgument("--cost-ratio must be a number in [0, 100]"));
    }
    in.cost_ratio = v;
  }
  if (args.Has("markdown")) {
    std::cout << contracts::EconomicsMarkdown(in);
    return 0;
  }
  for (const auto& o : contracts::AllStrategies(in)) {
    if (args.json()) {
      std::printf(
          "{\"strategy\":%s,\"corrupted\":%llu,\"detection\":%.6f,\"detection_approx\":%.6f,"
          "\"expected_profit\":%.2f,\"versus_honest\":%.2f}\n",
          JsonString(o.strategy).c_str(), static_cast<unsigned long long>(o.corrupted), o.detection,
          o.detection_approx, o.expected_profit, o.versus_honest);
    } else {
      std::printf("%-46s caught %6.4f  E[profit] %14.0f  vs honest %14.0f\n", o.strategy.c_str(),
                  o.detection, o.expected_profit, o.versus_honest);
    }
  }
  return 0;
}

}  // namespace

PROBITY_COMMAND({.path = "market economics",
                 .usage = "probity market economics [--payment P] [--cost-ratio C/P] "
                          "[--segments N] [--markdown] [--json]",
                 .summary = "expected profit of each provider strategy under the genesis defaults",
                 .bool_flags = {"json", "markdown"},
                 .run = MarketEconomics});

}  // namespace probity::cli
