// The whole happy path with real processes: `probity devnet --once --json` starts a chain, a
// provider and a verifier, trains a classifier and runs inference with it through the verified
// job flow, and must report every job verified and settled, with payments that add up.
#include <doctest/doctest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "node_harness.h"

using namespace probity;
namespace lt = probity::ledger::testing;
using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

Struct ParseLastJsonLine(const std::string& output) {
  size_t end = output.rfind('}');
  size_t start = output.rfind("\n{", end);
  start = start == std::string::npos ? output.find('{') : start + 1;
  Struct s;
  REQUIRE_MESSAGE(start != std::string::npos, output);
  auto st = google::protobuf::util::JsonStringToMessage(output.substr(start, end - start + 1), &s);
  REQUIRE_MESSAGE(st.ok(), output);
  return s;
}

double Num(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  REQUIRE_MESSAGE(it != s.fields().end(), key);
  return it->second.number_value();
}

}  // namespace

TEST_CASE("probity devnet --once trains and infers through the verified flow and settles") {
  lt::TempDir dir;
  auto run = lt::RunCommand({lt::ProbityBinary(), "devnet", "--once", "--json", "--home",
                             dir.path() + "/devnet", "--epochs", "1", "--verify", "4"},
                            {}, 600'000);
  INFO(run.output);
  REQUIRE(run.code == 0);
  Struct report = ParseLastJsonLine(run.output);
  CHECK(report.fields().at("ok").bool_value());
  const auto& jobs = report.fields().at("jobs").list_value().values();
  REQUIRE(jobs.size() == 2);
  uint64_t paid = 0;
  for (const Value& j : jobs) {
    const Struct& job = j.struct_value();
    CHECK(job.fields().at("state").string_value() == "settled");
    CHECK(job.fields().at("verified").bool_value());
    CHECK(Num(job, "sampled") >= 4);
    CHECK(Num(job, "checks_passed") == Num(job, "sampled"));
    CHECK(Num(job, "price_paid") == Num(job, "units") * Num(job, "price_per_unit"));
    CHECK(job.fields().at("id").string_value().size() == 64);
    paid += static_cast<uint64_t>(Num(job, "price_paid"));
  }
  CHECK(jobs[0].struct_value().fields().at("kind").string_value() == "train-classifier");
  CHECK(jobs[1].struct_value().fields().at("kind").string_value() == "infer-classifier");
  // One epoch of the reference MLP classifies most of the test set.
  CHECK(Num(report, "test_accuracy") > 0.8);

  // The provider earned what the buyer paid it, less its own transaction fees (its stake was
  // bonded before the "before" snapshot); the buyer paid the jobs and the verifier's fees.
  const Struct& balances = report.fields().at("balances").struct_value();
  const Struct& provider = balances.fields().at("provider").struct_value();
  const Struct& buyer = balances.fields().at("buyer").struct_value();
  const Struct& verifier = balances.fields().at("verifier").struct_value();
  const double provider_gain = Num(provider, "after") - Num(provider, "before");
  CHECK(provider_gain <= static_cast<double>(paid));
  CHECK(provider_gain >= static_cast<double>(paid) - 1000);  // fees are a few tokens a tx
  const double verifier_gain = Num(verifier, "after") - Num(verifier, "before");
  CHECK(verifier_gain > 0);
  CHECK(Num(buyer, "before") - Num(buyer, "after") >= static_cast<double>(paid) + verifier_gain);
}
