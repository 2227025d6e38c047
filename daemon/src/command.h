// The `probity` command line: a registry of commands and benchmark suites.
//
// Each command lives in its own daemon/src/cmd_*.cc file and registers itself at static
// initialisation with PROBITY_COMMAND; `probity bench SUITE` suites register with
// PROBITY_BENCH_SUITE. The files are linked straight into the executable, so registrations are
// never dropped by the linker. Commands print for people by default and JSON with --json.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "probity/primitives/status.h"

namespace probity::cli {

// Parsed command-line arguments: `--name value`, `--name=value`, bare `--flag`, positionals.
// A flag's value is taken from the next word unless the flag is declared boolean.
class Args {
 public:
  // `bool_flags` names the flags that take no value (e.g. "json", "once").
  static Result<Args> Parse(const std::vector<std::string>& words,
                            const std::vector<std::string>& bool_flags);

  bool Has(const std::string& name) const { return flags_.count(name) > 0; }
  // The last value of a flag given more than once.
  std::optional<std::string> Get(const std::string& name) const;
  // Every value of a repeatable flag, in command-line order (empty when absent).
  std::vector<std::string> GetAll(const std::string& name) const;
  std::string GetOr(const std::string& name, const std::string& dflt) const;
  // kInvalidArgument "missing --name" if absent.
  Result<std::string> Require(const std::string& name) const;
  Result<uint64_t> GetU64(const std::string& name, uint64_t dflt) const;
  const std::vector<std::string>& positional() const { return positional_; }
  // kInvalidArgument naming the first flag not in `known` (typos never pass silently).
  Status CheckKnown(const std::vector<std::string>& known) const;

  bool json() const { return Has("json"); }

 private:
  std::map<std::string, std::string> flags_;
  std::map<std::string, std::vector<std::string>> all_;
  std::vector<std::string> positional_;
};

struct Command {
  std::string path;     // "keys new", "node", "bench"
  std::string usage;    // "probity keys new NAME [--home DIR] [--json]"
  std::string summary;  // one line for `probity help`
  std::vector<std::string> bool_flags;
  // Returns the process exit status. Errors are printed by the command itself (for people,
  // or as {"ok":false,"error":...} with --json).
  std::function<int(const Args&)> run;
};

std::map<std::string, Command>& CommandRegistry();
bool RegisterCommand(Command c);

// A benchmark suite prints JSON lines ({"suite":..,"name":..,"value":..,"unit":..,...}) with
// --json, or a readable table without.
struct BenchSuite {
  std::string name;
  std::string summary;
  std::function<int(const Args&)> run;
};
std::map<std::string, BenchSuite>& BenchRegistry();
bool RegisterBenchSuite(BenchSuite s);

// Prints a failure for people ("error: ...") or as JSON, and returns exit status 1.
int Fail(const Args& args, const Status& status);

// Default home directory: $PROBITY_HOME, else ~/.probity.
std::string DefaultHome();
std::string HomeDir(const Args& args);

// The passphrase from PROBITY_PASSPHRASE, else a prompt on the terminal with echo off.
// `confirm` asks twice (for new keys). kInvalidArgument if neither is available.
Result<std::string> ReadPassphrase(const std::string& prompt, bool confirm);

// Quotes a string for JSON output.
std::string JsonString(const std::string& s);

}  // namespace probity::cli

#define PROBITY_CLI_CONCAT2_(a, b) a##b
#define PROBITY_CLI_CONCAT_(a, b) PROBITY_CLI_CONCAT2_(a, b)
#define PROBITY_COMMAND(...)                                             \
  static const bool PROBITY_CLI_CONCAT_(probity_cmd_reg_, __COUNTER__) = \
      ::probity::cli::RegisterCommand(::probity::cli::Command __VA_ARGS__)
#define PROBITY_BENCH_SUITE(...)                                           \
  static const bool PROBITY_CLI_CONCAT_(probity_bench_reg_, __COUNTER__) = \
      ::probity::cli::RegisterBenchSuite(::probity::cli::BenchSuite __VA_ARGS__)
