// Runs an operator's command (`/bin/sh -c COMMAND`) with some text on its standard input and
// collects its standard output, within a time limit: the mechanism of --pricing-command.
// The child is started with posix_spawn (safe in a threaded daemon) in a process group of its
// own, killed as a whole on a timeout; its standard error goes to the daemon's, so the
// operator sees its complaints in the daemon's log.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "probity/primitives/status.h"

namespace probity::provider {

struct CommandLimits {
  std::chrono::milliseconds timeout{5000};
  size_t max_output_bytes = 4096;
};

// The command's standard output. kDeadlineExceeded when it runs past the timeout (it is
// killed), kResourceExhausted when it prints more than the limit (killed too),
// kFailedPrecondition when it exits with a non-zero status or a signal, kIOError when it
// cannot be started.
Result<std::string> RunExternalCommand(const std::string& command, const std::string& input,
                                       const CommandLimits& limits = {});

}  // namespace probity::provider
