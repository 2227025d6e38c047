// The economics model: no strategy beats honest work (or refusing the job) under the genesis
// defaults, for any number of corrupted segments, nor across a grid of jobs and parameters;
// and docs/economics.md carries exactly the table the model gives.
#include "probity/contracts/economics.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

using namespace probity::contracts;

TEST_CASE("every cheating strategy loses money under the genesis defaults") {
  const EconomicsInputs in = EconomicsInputs::Defaults();
  CHECK(in.k >= 1);
  CHECK(in.stake > 0);
  CHECK(HonestProfit(in) > 0);
  for (uint64_t c = 1; c <= in.segments; ++c) {
    CAPTURE(c);
    auto o = CorruptSegments(in, c);
    CHECK(o.versus_honest < 0);
    CHECK(o.detection >= o.detection_approx - 1e-12);  // exact >= 1 - (1 - f)^k
    CHECK(o.detection >= static_cast<double>(c) / in.segments - 1e-12);
  }
  for (const auto& o : AllStrategies(in)) {
    CAPTURE(o.strategy);
    CHECK(o.versus_honest < 0);
  }
}

TEST_CASE("cheating loses across job sizes, costs, sample sizes and stakes") {
  for (double cost : {0.0, 0.05, 0.3, 0.6, 0.9, 0.99, 1.0, 1.5, 4.0}) {
    for (uint64_t n : {1, 2, 3, 16, 64, 1000}) {
      for (uint32_t k : {1u, 2u, 4u, 16u}) {
        for (uint64_t payment : {uint64_t{1}, uint64_t{1'000'000}, uint64_t{1} << 50}) {
          EconomicsInputs in = EconomicsInputs::Defaults();
          in.cost_ratio = cost;
          in.segments = n;
          in.k = k;
          in.payment = payment;
          for (uint64_t c = 1; c <= n; c += std::max<uint64_t>(1, n / 50)) {
            auto o = CorruptSegments(in, c);
            if (o.versus_honest >= 0) {
              FAIL_CHECK("profitable cheat: cost ", cost, " n ", n, " k ", k, " P ", payment, " c ",
                         c, ": ", o.versus_honest);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("docs/economics.md shows the table of the genesis defaults") {
  std::ifstream f(std::string(PROBITY_TEST_DATA_DIR) + "/../../docs/economics.md");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  const std::string begin =
      "<!-- economics-table:begin (probity market economics --markdown) -->\n";
  const std::string end = "<!-- economics-table:end -->";
  auto b = doc.find(begin);
  auto e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  const std::string table = doc.substr(b + begin.size(), e - b - begin.size());
  CHECK_MESSAGE(table == EconomicsMarkdown(EconomicsInputs::Defaults()),
                "docs/economics.md is stale: regenerate the table with "
                "`probity market economics --markdown`");
}
