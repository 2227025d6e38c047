// Prices: the --price grammar, the pricing command protocol (its JSON, its answers, its
// failures) and the external command runner under it.
#include "pricing.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "external_command.h"
#include "probity/provider/provider.h"

namespace probity::provider {
namespace {

using market::v1::JOB_KIND_INFER_CLASSIFIER;
using market::v1::JOB_KIND_TRAIN_CLASSIFIER;

TEST_CASE("price lists: kinds, whole numbers, once each") {
  KindPrices p;
  REQUIRE(ParsePriceList("train-classifier=5, infer-classifier = 7", &p).ok());
  CHECK(p[JOB_KIND_TRAIN_CLASSIFIER] == 5);
  CHECK(p[JOB_KIND_INFER_CLASSIFIER] == 7);
  KindPrices q;
  CHECK(ParsePriceList("train-classifier=5", &q).ok());
  CHECK(ParsePriceList("train-classifier=6", &q).code() == Code::kInvalidArgument);  // twice
  for (const char* bad :
       {"", "train-classifier", "gpu=5", "train-classifier=0", "train-classifier=-1",
        "train-classifier=1.5", "train-classifier=99999999999999999999", "infer-classifier=3,"}) {
    CAPTURE(bad);
    KindPrices r;
    CHECK(!ParsePriceList(bad, &r).ok());
  }
}

TEST_CASE("the command's answer: a price within the market's range, or skip") {
  CHECK(ParsePriceAnswer("42\n", 100)->value_or(0) == 42);
  CHECK(ParsePriceAnswer("  7 ", 100)->value_or(0) == 7);
  CHECK(!ParsePriceAnswer("skip\n", 100)->has_value());
  for (const char* bad : {"", "0", "101", "4 2", "price: 5", "-3", "5.0", "skip it"}) {
    CAPTURE(bad);
    CHECK(ParsePriceAnswer(bad, 100).status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("external commands: input, output, exit status, timeout, output limit") {
  auto echo = RunExternalCommand("tr a-z A-Z", "hello");
  REQUIRE(echo.ok());
  CHECK(*echo == "HELLO");
  CHECK(RunExternalCommand("exit 3", "").status().code() == Code::kFailedPrecondition);
  auto slow = RunExternalCommand("sleep 5", "", {.timeout = std::chrono::milliseconds(200)});
  CHECK(slow.status().code() == Code::kDeadlineExceeded);
  auto chatty = RunExternalCommand("yes", "", {.max_output_bytes = 1000});
  CHECK(chatty.status().code() == Code::kResourceExhausted);
  // A command that never reads a large input must not hang or kill the caller (SIGPIPE).
  auto deaf = RunExternalCommand("echo 9", std::string(1 << 20, 'x'));
  REQUIRE(deaf.ok());
  CHECK(*deaf == "9\n");
}

PricingContext Ctx() {
  PricingContext c;
  c.address = "prb1test";
  c.backend = "cpu";
  c.hardware.set_gpu_model("cpu");
  c.hardware.set_gpu_count(1);
  c.hardware.set_throughput(1234);
  c.capacity = 2;
  c.height = 77;
  c.max_price_per_unit = 1000;
  c.current[JOB_KIND_TRAIN_CLASSIFIER] = 50;
  return c;
}

TEST_CASE("the request JSON carries the purpose, the kind, the provider and the order") {
  market::v1::Order order;
  order.set_id(std::string(32, '\x01'));
  order.set_kind(JOB_KIND_TRAIN_CLASSIFIER);
  order.set_units(900);
  order.set_max_price_per_unit(40);
  order.set_verification_level(4);
  const std::string json =
      PricingRequestJson("order", JOB_KIND_TRAIN_CLASSIFIER, Ctx(), 60, &order);
  for (const char* part :
       {"\"version\":1", "\"purpose\":\"order\"", "\"kind\":\"train-classifier\"", "\"height\":77",
        "\"current_price_per_unit\":50", "\"static_price_per_unit\":60",
        "\"max_price_per_unit\":1000", "\"throughput\":1234", "\"capacity\":2", "\"units\":900",
        "\"max_price_per_unit\":40", "\"verification_level\":4",
        "\"id\":\"0101010101010101010101010101010101010101010101010101010101010101\""}) {
    CAPTURE(part);
    CHECK(json.find(part) != std::string::npos);
  }
  const std::string standing =
      PricingRequestJson("standing", JOB_KIND_INFER_CLASSIFIER, Ctx(), 0, nullptr);
  CHECK(standing.find("\"order\"") == std::string::npos);
  CHECK(standing.find("\"current_price_per_unit\":0") != std::string::npos);
}

TEST_CASE("standing prices: static, from the command, and the fallbacks when it fails") {
  Pricing fixed({.static_prices = {{JOB_KIND_TRAIN_CLASSIFIER, 9}}});
  CHECK(fixed.Kinds().size() == 1);
  CHECK(fixed.StandingPrices(Ctx()) == KindPrices{{JOB_KIND_TRAIN_CLASSIFIER, 9}});
  CHECK(!fixed.PriceForOrder(market::v1::Order(), Ctx()).has_value());

  // The command reads the request: train gets 11, infer is skipped.
  Pricing cmd({.command = "if grep -q train-classifier; then echo 11; else echo skip; fi"});
  CHECK(cmd.Kinds().size() == 2);
  CHECK(cmd.StandingPrices(Ctx()) == KindPrices{{JOB_KIND_TRAIN_CLASSIFIER, 11}});

  // A failing command: the static price, else nothing for that kind.
  Pricing broken({.static_prices = {{JOB_KIND_INFER_CLASSIFIER, 4}}, .command = "exit 1"});
  CHECK(broken.StandingPrices(Ctx()) == KindPrices{{JOB_KIND_INFER_CLASSIFIER, 4}});
  // Garbage output, and a price above the market's maximum, count as failures.
  Pricing garbage({.command = "echo lots"});
  CHECK(garbage.StandingPrices(Ctx()).empty());
  Pricing greedy({.command = "echo 5000"});
  CHECK(greedy.StandingPrices(Ctx()).empty());
}

TEST_CASE("the previous standing price survives a later failure of the command") {
  const std::string flag = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/probity-pricing-fail-" + std::to_string(::getpid());
  std::remove(flag.c_str());
  Pricing p({.command = "if [ -e " + flag + " ]; then exit 1; fi; echo 13"});
  CHECK(p.StandingPrices(Ctx())[JOB_KIND_TRAIN_CLASSIFIER] == 13);
  std::FILE* f = std::fopen(flag.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  CHECK(p.StandingPrices(Ctx())[JOB_KIND_TRAIN_CLASSIFIER] == 13);
  std::remove(flag.c_str());
}

TEST_CASE("order prices come from the command only") {
  market::v1::Order order;
  order.set_kind(JOB_KIND_TRAIN_CLASSIFIER);
  order.set_max_price_per_unit(40);
  Pricing p({.command = "grep -q '\"purpose\":\"order\"' && echo 35"});
  CHECK(p.PriceForOrder(order, Ctx()).value_or(0) == 35);
  Pricing slow({.command = "sleep 3; echo 1", .timeout = std::chrono::milliseconds(100)});
  CHECK(!slow.PriceForOrder(order, Ctx()).has_value());
}

}  // namespace
}  // namespace probity::provider
