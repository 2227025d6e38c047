// One benchmark figure, printed as a JSON line (`--json`) or a row for people.
//
// Every figure carries its suite, name, value and unit; where a figure has an anchor measured
// in the same run (a baseline or a target), `baseline`/`ratio` or `target` say so, so that a
// report can show each number beside what it should be compared with.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace probity::cli {

struct BenchFigure {
  std::string suite;
  std::string name;
  double value = 0;
  std::string unit;
  std::optional<std::string> baseline_name;  // e.g. "libsecp256k1 bare verify"
  std::optional<double> baseline;
  std::optional<double> ratio;               // value / baseline
  std::optional<double> target;              // what the ratio (or value) must reach
  std::map<std::string, std::string> extra;  // other fields, values already JSON-encoded
};

void PrintBenchFigure(const BenchFigure& f, bool json);

}  // namespace probity::cli
