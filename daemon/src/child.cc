#include "child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "probity/ledger/node_home.h"

namespace probity::cli {

Result<std::unique_ptr<Child>> Child::Spawn(const std::string& name,
                                            const std::vector<std::string>& args,
                                            const std::string& log_path) {
  std::vector<std::string> argv = {"/proc/self/exe"};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  std::unique_ptr<Child> c(new Child());
  c->name_ = name;
  c->log_ = log_path;
  c->pid_ = pid;
  return c;
}

bool Child::Running() {
  if (pid_ <= 0) return false;
  int st;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int Child::Wait() {
  int st = 0;
  if (pid_ <= 0 || waitpid(pid_, &st, 0) != pid_) return -1;
  pid_ = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void Child::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100 && Running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!Running()) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

double Child::PeakRssMiB() const { return pid_ <= 0 ? 0 : ProcessPeakRssMiB(std::to_string(pid_)); }

double ProcessPeakRssMiB(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

Result<std::string> WaitForAddressFile(const std::string& path, Child& child, int seconds,
                                       const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline && !(stop != nullptr && stop->load())) {
    auto text = ledger::ReadFileToString(path);
    if (text.ok() && !text->empty() && text->back() == '\n') {
      return text->substr(0, text->size() - 1);
    }
    if (!child.Running()) {
      return Status::Unavailable("the " + child.name() + " exited during startup; see " +
                                 child.log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::DeadlineExceeded("the " + child.name() + " did not start within " +
                                  std::to_string(seconds) + " s; see " + child.log());
}

}  // namespace probity::cli
