// `probity bench load` for a few seconds at a modest rate: every figure and check is printed
// as a JSON line of the documented shape, the node commits, and it survives the abuse phase
// (garbage on its port, thousands of streams) with the streams past its limit refused.
#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "node_harness.h"

namespace probity::ledger {
namespace {

// The value of "key": in a one-line JSON object (numbers and booleans), "" when absent.
std::string Field(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  const size_t at = line.find(k);
  if (at == std::string::npos) return "";
  const size_t start = at + k.size();
  size_t end = line.find_first_of(",}", start);
  return line.substr(start, end - start);
}

TEST_CASE("probity bench load --json: figures, checks, and a node that survives the abuse") {
  auto r = testing::RunCommand(
      {testing::ProbityBinary(), "bench", "load", "--json", "--seconds", "8", "--rate", "500",
       "--accounts", "256", "--threads", "2", "--check-seconds", "4"},
      {}, 240000);
  REQUIRE_MESSAGE(r.code == 0, r.output);
  std::map<std::string, std::string> figures, checks;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"suite\":\"load\"", 0) != 0) continue;
    const std::string name = Field(line, "name");
    const std::string check = Field(line, "check");
    if (!name.empty()) figures[name.substr(1, name.size() - 2)] = line;
    if (!check.empty()) checks[check.substr(1, check.size() - 2)] = line;
  }
  for (const char* f : {"committed_tx_per_s", "submit_to_commit_p50_ms", "submit_to_commit_p99_ms",
                        "node_peak_rss_mib"}) {
    REQUIRE_MESSAGE(figures.count(f), f << " missing in\n" << r.output);
    CHECK(Field(figures[f], "unit").size() > 2);
    CHECK(std::stod(Field(figures[f], "value")) > 0);
  }
  CHECK(Field(figures["committed_tx_per_s"], "target") == "10000");
  CHECK(Field(figures["committed_tx_per_s"], "offered_tx_per_s") == "500");
  REQUIRE_MESSAGE(checks.count("flood_does_not_starve"), r.output);
  CHECK(std::stod(Field(checks["flood_does_not_starve"], "others_committed_tx_per_s")) > 0);
  CHECK(std::stod(Field(checks["flood_does_not_starve"], "flooder_refused")) > 0);
  REQUIRE_MESSAGE(checks.count("abuse_is_refused"), r.output);
  const std::string& abuse = checks["abuse_is_refused"];
  CHECK_MESSAGE(Field(abuse, "node_up") == "1", abuse);
  CHECK_MESSAGE(std::stod(Field(abuse, "streams_refused")) >= 4000 - 1024, abuse);
  CHECK_MESSAGE(std::stod(Field(abuse, "garbage_connections")) > 0, abuse);
  CHECK_MESSAGE(std::stod(Field(abuse, "committed_tx_per_s_during")) > 0, abuse);
  MESSAGE(r.output);
}

}  // namespace
}  // namespace probity::ledger
