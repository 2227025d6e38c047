// A `probity` subcommand run as a child process of this one (devnet, bench load): stdout and
// stderr appended to a log file, stopped (SIGTERM, then SIGKILL after 5 s) when dropped.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "probity/primitives/status.h"

namespace probity::cli {

class Child {
 public:
  // Runs this executable with `args`; `name` is how messages call it ("node", "provider").
  static Result<std::unique_ptr<Child>> Spawn(const std::string& name,
                                              const std::vector<std::string>& args,
                                              const std::string& log_path);
  ~Child() { Stop(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool Running();
  // Waits for the exit: its status, or 128 + the signal; -1 if it was already reaped.
  int Wait();
  // SIGTERM, then SIGKILL if it is still running after 5 s; reaps it.
  void Stop();
  // The child's peak resident memory (VmHWM) while it runs; 0 once it ended.
  double PeakRssMiB() const;
  const std::string& log() const { return log_; }
  const std::string& name() const { return name_; }

 private:
  Child() = default;
  std::string name_;
  std::string log_;
  pid_t pid_ = -1;
};

// The peak resident memory (VmHWM) in MiB of process `pid` ("self" for this one); 0 when it
// cannot be read (the process is gone).
double ProcessPeakRssMiB(const std::string& pid);

// Waits for the file a daemon writes once it serves (its bound address, newline-terminated)
// and returns its first line. Fails when the child exits first, after `seconds`, or when
// `stop` (if given) becomes true.
Result<std::string> WaitForAddressFile(const std::string& path, Child& child, int seconds,
                                       const std::atomic<bool>* stop = nullptr);

}  // namespace probity::cli
