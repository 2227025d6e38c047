// `probity bench SUITE [--json] [...]`: runs one registered benchmark suite, or `all`.
#include <iostream>

#include "command.h"

namespace probity::cli {
namespace {
int RunBench(const Args& args) {
  if (args.positional().empty()) {
    std::cerr << "usage: probity bench SUITE [--json]\nsuites:\n";
    for (const auto& [n, s] : BenchRegistry()) std::cerr << "  " << n << "  " << s.summary << "\n";
    return 2;
  }
  const std::string& name = args.positional()[0];
  auto it = BenchRegistry().find(name);
  if (it == BenchRegistry().end()) {
    return Fail(args, Status::InvalidArgument("unknown benchmark suite '" + name + "'"));
  }
  return it->second.run(args);
}
}  // namespace

PROBITY_COMMAND({.path = "bench",
                 .usage = "probity bench SUITE [--json] [suite flags]",
                 .summary = "run a benchmark suite (crypto, ledger, workloads, market, ...)",
                 .bool_flags = {"quick", "once"},
                 .run = RunBench});

}  // namespace probity::cli
