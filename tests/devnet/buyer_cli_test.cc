// The buyer's and the auditor's command line against a devnet that stays up: a job submitted
// with --self-verify is checked by the buyer itself and settles; its result downloads checked;
// the market shows the trade; an audit of every segment agrees; a cancelled order refunds; and
// bad input is refused with a clear message.
#include <doctest/doctest.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "node_harness.h"

using namespace probity;
namespace lt = probity::ledger::testing;
using google::protobuf::Struct;

namespace {

const std::string kPass = "PROBITY_PASSPHRASE=devnet";

Struct LastJson(const std::string& output) {
  size_t end = output.rfind('}');
  REQUIRE_MESSAGE(end != std::string::npos, output);
  size_t start = output.rfind("\n{", end);
  start = start == std::string::npos ? output.find('{') : start + 1;
  Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(output.substr(start, end - start + 1), &s);
  REQUIRE_MESSAGE(st.ok(), output);
  return s;
}

lt::CommandResult Probity(std::vector<std::string> args, int timeout_ms = 120'000) {
  args.insert(args.begin(), lt::ProbityBinary());
  return lt::RunCommand(args, {kPass}, timeout_ms);
}

}  // namespace

TEST_CASE("buyer and auditor commands against a running devnet") {
  lt::TempDir dir;
  const std::string home = dir.path() + "/devnet";
  auto devnet = lt::ChildProcess::Start(
      {lt::ProbityBinary(), "devnet", "--home", home, "--epochs", "1", "--verify", "4"}, {kPass},
      dir.path() + "/devnet.log");
  REQUIRE(devnet.ok());
  bool up = false;
  for (int i = 0; i < 1200 && !up; ++i) {  // the demo's two jobs first (about 20 s)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    up = (*devnet)->Output().find("the devnet stays up") != std::string::npos;
    if (!(*devnet)->Running()) break;
  }
  INFO((*devnet)->Output());
  REQUIRE(up);

  // A small training job, verified by the buyer itself.
  auto submit = Probity({"job",        "submit", "--home",        home,
                         "--key",      "buyer",  "--kind",        "train-classifier",
                         "--examples", "3200",   "--hidden",      "64",
                         "--epochs",   "1",      "--max-price",   "2",
                         "--verify",   "4",      "--self-verify", "--wait",
                         "--json"},
                        300'000);
  INFO(submit.output);
  REQUIRE(submit.code == 0);
  Struct job = LastJson(submit.output);
  CHECK(job.fields().at("state").string_value() == "settled");
  CHECK(job.fields().at("attested").bool_value());
  // The buyer was its own verifier.
  auto buyer_addr = Probity({"keys", "show", "buyer", "--home", home, "--json"});
  CHECK(job.fields().at("verifier").string_value() ==
        LastJson(buyer_addr.output).fields().at("address").string_value());
  const std::string id = job.fields().at("id").string_value();

  auto result = Probity({"job", "result", id, "--home", home, "--key", "buyer", "--out",
                         dir.path() + "/model.safetensors", "--json"});
  INFO(result.output);
  CHECK(result.code == 0);
  CHECK(LastJson(result.output).fields().at("verified").bool_value());
  CHECK(std::filesystem::file_size(dir.path() + "/model.safetensors") > 0);

  // Someone else's key cannot download it.
  auto stolen = Probity({"job", "result", id, "--home", home, "--key", "verifier", "--out",
                         dir.path() + "/stolen.safetensors"});
  CHECK(stolen.code != 0);
  CHECK(!std::filesystem::exists(dir.path() + "/stolen.safetensors"));

  auto market = Probity({"market", "--home", home, "--json"});
  INFO(market.output);
  CHECK(market.code == 0);
  const Struct book = LastJson(market.output);
  const auto& kinds = book.fields().at("kinds").list_value().values();
  REQUIRE(kinds.size() == 2);
  CHECK(kinds[0].struct_value().fields().at("recent_prices").list_value().values_size() >= 2);

  // The verifier audits every segment of the buyer's job: all equal.
  auto audit =
      Probity({"audit", id, "--home", home, "--key", "verifier", "--segments", "all", "--json"});
  INFO(audit.output);
  CHECK(audit.code == 0);
  CHECK(LastJson(audit.output).fields().at("ok").bool_value());

  // An order nobody can take (below every offer's price) waits, then is cancelled.
  auto cheap = Probity({"job", "submit", "--home", home, "--key", "buyer", "--kind",
                        "train-classifier", "--examples", "3200", "--hidden", "64", "--epochs", "1",
                        "--max-price", "1", "--timeout", "2", "--json"});
  INFO(cheap.output);
  REQUIRE(cheap.code == 0);
  Struct waiting = LastJson(cheap.output);
  CHECK(waiting.fields().at("state").string_value() == "open");
  const std::string cheap_id = waiting.fields().at("id").string_value();
  auto cancel = Probity({"job", "cancel", cheap_id, "--home", home, "--key", "buyer", "--json"});
  INFO(cancel.output);
  CHECK(cancel.code == 0);
  auto status = Probity({"job", "status", cheap_id, "--home", home, "--key", "buyer", "--json"});
  CHECK(LastJson(status.output).fields().at("state").string_value() == "cancelled");
  CHECK(LastJson(status.output).fields().at("escrow").number_value() == 0);

  // Bad input: a clear error, nothing placed.
  auto bad = Probity({"job", "submit", "--home", home, "--key", "buyer", "--kind",
                      "train-classifier", "--epochs", "0", "--max-price", "2"});
  CHECK(bad.code != 0);
  CHECK(bad.output.find("epochs") != std::string::npos);
  auto unknown = Probity({"job", "status", "00", "--home", home, "--key", "buyer"});
  CHECK(unknown.code != 0);
  auto no_price =
      Probity({"job", "submit", "--home", home, "--key", "buyer", "--kind", "train-classifier"});
  CHECK(no_price.code != 0);
  CHECK(no_price.output.find("max-price") != std::string::npos);

  (*devnet)->Signal(SIGTERM);
  CHECK((*devnet)->WaitFor(20'000) == 0);
}
