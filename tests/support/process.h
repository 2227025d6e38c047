// TEST ONLY: child processes for integration and fault tests (real `probity` binaries).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "probity/primitives/status.h"

namespace probity::ledger::testing {

// The `probity` executable of this build.
std::string ProbityBinary();

// A child process whose stdout and stderr go to files (read them with Stdout()/Stderr()).
class ChildProcess {
 public:
  // Starts argv[0] with `argv`, the current environment plus `env` ("NAME=value").
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                     const std::vector<std::string>& env,
                                                     const std::string& log_path);
  ~ChildProcess();  // SIGKILLs and reaps a child still running

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // Waits for the exit; returns the exit status, or 128 + signal number.
  int Wait();
  // Waits at most `ms`; -1 if still running then.
  int WaitFor(int ms);
  bool Running();
  std::string Output() const;  // stdout and stderr, interleaved as written

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

struct CommandResult {
  int code = -1;
  std::string output;  // stdout and stderr
};
// Runs to completion (at most `timeout_ms`, then SIGKILL and code 124).
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         int timeout_ms = 60000);

}  // namespace probity::ledger::testing
