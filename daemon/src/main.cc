// probity: the one program of the Probity marketplace (node, provider, verifier, CLI).
//
// Dispatch: the longest registered command path that prefixes the arguments wins, so
// "probity keys new alice" runs "keys new" with positional "alice".
#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"

using namespace probity::cli;

namespace {
void PrintHelp(std::ostream& o) {
  o << "probity: verified GPU compute marketplace\n\nusage: probity COMMAND [ARGS] [--json]\n\n";
  for (const auto& [path, c] : CommandRegistry()) {
    o << "  " << path << std::string(path.size() < 22 ? 22 - path.size() : 1, ' ') << c.summary
      << "\n";
  }
  o << "\nRun 'probity COMMAND --help' for a command's flags.\n";
}
}  // namespace

int main(int argc, char** argv) {
  // No fastbins. The node's threads hand memory across (submitters allocate checked
  // transactions, the producer frees them with the block), and each large free (a block's
  // encoding, its results) then makes glibc consolidate every fastbin chunk it holds: 5-10% of
  // the node's CPU under load. Small frees still go through the per-thread tcache. Measured by
  // `probity bench ledger` (cpu_us_per_transfer, docs/ledger.md section 12). An operator's own
  // GLIBC_TUNABLES take precedence.
  if (std::getenv("GLIBC_TUNABLES") == nullptr) mallopt(M_MXFAST, 0);
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty() || words[0] == "help" || words[0] == "--help" || words[0] == "-h") {
    PrintHelp(std::cout);
    return words.empty() ? 2 : 0;
  }
  const Command* best = nullptr;
  size_t best_len = 0;
  for (const auto& [path, c] : CommandRegistry()) {
    std::vector<std::string> parts;
    size_t s = 0;
    while (s <= path.size()) {
      size_t e = path.find(' ', s);
      if (e == std::string::npos) e = path.size();
      parts.push_back(path.substr(s, e - s));
      s = e + 1;
    }
    if (parts.size() > words.size() || parts.size() <= best_len) continue;
    bool match = true;
    for (size_t i = 0; i < parts.size(); ++i) match = match && parts[i] == words[i];
    if (match) {
      best = &c;
      best_len = parts.size();
    }
  }
  if (best == nullptr) {
    std::cerr << "error: unknown command '" << words[0] << "'\n\n";
    PrintHelp(std::cerr);
    return 2;
  }
  std::vector<std::string> rest(words.begin() + static_cast<long>(best_len), words.end());
  auto args = Args::Parse(rest, best->bool_flags);
  if (!args.ok()) {
    std::cerr << "error: " << args.status().message() << "\nusage: " << best->usage << "\n";
    return 2;
  }
  if (args->Has("help")) {
    std::cout << "usage: " << best->usage << "\n" << best->summary << "\n";
    return 0;
  }
  return best->run(*args);
}
