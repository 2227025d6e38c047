// `probity bench adversarial --quick --json` as the report runs it: one line per strategy with
// every field; no honest provider slashed; no promise of the protocol broken; detection within
// statistical bounds of the theory; every cheat losing money against honest work.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "process.h"

using probity::ledger::testing::ProbityBinary;
using probity::ledger::testing::RunCommand;

namespace {

// The value of "key" in a flat JSON object of numbers and strings (as the bench prints it).
std::string Raw(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  auto at = line.find(k);
  if (at == std::string::npos) return "";
  at += k.size();
  if (line[at] == '"') return line.substr(at + 1, line.find('"', at + 1) - at - 1);
  return line.substr(at, line.find_first_of(",}", at) - at);
}

double Number(const std::string& line, const std::string& key) {
  const std::string v = Raw(line, key);
  REQUIRE_MESSAGE(!v.empty(), "no ", key, " in ", line);
  return std::stod(v);
}

}  // namespace

TEST_CASE(
    "bench adversarial --quick: honest never slashed, cheats caught as theory says, and "
    "never profitable") {
  auto r = RunCommand({ProbityBinary(), "bench", "adversarial", "--quick", "--json"}, {}, 600000);
  INFO(r.output);
  REQUIRE(r.code == 0);
  std::map<std::string, std::string> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{", 0) == 0) lines[Raw(line, "name")] = line;
  }
  const std::set<std::string> expected = {
      "honest",         "corrupt f=0.001", "corrupt f=0.01", "corrupt f=0.05", "corrupt f=0.5",
      "random-outputs", "replay",          "other-model",    "withhold",       "collude"};
  for (const auto& name : expected) REQUIRE_MESSAGE(lines.count(name), "no line ", name);

  uint64_t total = 0;
  for (const auto& [name, line] : lines) {
    CAPTURE(line);
    for (const char* key : {"strategy", "f", "k", "jobs", "detected", "detection_rate", "theory",
                            "honest_slashed", "mean_profit_vs_honest"}) {
      CHECK_MESSAGE(!Raw(line, key).empty(), "missing ", key);
    }
    CHECK(Number(line, "honest_slashed") == 0);
    CHECK(Number(line, "promises_broken") == 0);
    const double jobs = Number(line, "jobs");
    // Every market's jobs: its strategy's and its honest providers' (the honest line sums those).
    if (name != "honest") total += static_cast<uint64_t>(jobs + Number(line, "honest_jobs"));
    CHECK(jobs >= 50);
    if (Raw(line, "strategy") == "honest") {
      CHECK(Number(line, "detected") == 0);
      continue;
    }
    // Every job of a strategy is caught independently with the same probability p.
    const double p = Number(line, "theory_exact"), detected = Number(line, "detected");
    CHECK(std::abs(detected - jobs * p) <= 4 * std::sqrt(jobs * p * (1 - p)) + 1);
    CHECK(std::abs(Number(line, "theory") - p) < 0.01);  // 1 - (1 - f)^k against the exact one
    CHECK(Number(line, "detection_rate") == doctest::Approx(detected / jobs));
    CHECK(Number(line, "mean_profit_vs_honest") < 0);
  }
  MESSAGE("jobs driven: ", total);
  CHECK(total >= 1500);
}

TEST_CASE("bench adversarial: bad flags are refused") {
  for (const auto& flag : {std::string("--k=0"), std::string("--audit-rate=2"),
                           std::string("--audit-rate=x"), std::string("--bogus=1")}) {
    auto r = RunCommand({ProbityBinary(), "bench", "adversarial", flag, "--json"}, {});
    CAPTURE(flag);
    CHECK(r.code != 0);
    CHECK(r.output.find("error") != std::string::npos);
  }
}
