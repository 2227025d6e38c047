#include "bench_output.h"

#include <cstdio>
#include <iostream>
#include <sstream>

#include "command.h"

namespace probity::cli {
namespace {
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}
}  // namespace

void PrintBenchFigure(const BenchFigure& f, bool json) {
  if (json) {
    std::ostringstream o;
    o << "{\"suite\":" << JsonString(f.suite) << ",\"name\":" << JsonString(f.name)
      << ",\"value\":" << Num(f.value) << ",\"unit\":" << JsonString(f.unit);
    if (f.baseline_name) o << ",\"baseline_name\":" << JsonString(*f.baseline_name);
    if (f.baseline) o << ",\"baseline\":" << Num(*f.baseline);
    if (f.ratio) o << ",\"ratio\":" << Num(*f.ratio);
    if (f.target) o << ",\"target\":" << Num(*f.target);
    for (const auto& [k, v] : f.extra) o << "," << JsonString(k) << ":" << v;
    o << "}";
    std::cout << o.str() << std::endl;
    return;
  }
  std::ostringstream o;
  o << f.name << std::string(f.name.size() < 34 ? 34 - f.name.size() : 1, ' ') << Num(f.value)
    << " " << f.unit;
  if (f.baseline) {
    o << "   (" << (f.baseline_name ? *f.baseline_name : "baseline") << ": " << Num(*f.baseline)
      << ", ratio " << Num(f.ratio.value_or(0));
    if (f.target) o << ", target >= " << Num(*f.target);
    o << ")";
  } else if (f.target) {
    o << "   (target " << Num(*f.target) << ")";
  }
  std::cout << o.str() << std::endl;
}

}  // namespace probity::cli
