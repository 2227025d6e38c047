#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace probity::ledger::testing {

std::string ProbityBinary() { return std::string(PROBITY_BINARY_DIR) + "/daemon/probity"; }

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& argv,
                                                          const std::vector<std::string>& env,
                                                          const std::string& log_path) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
  for (const auto& e : env) envs.push_back(e);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot open " + log_path);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return Status::IOError("fork failed");
  }
  if (pid == 0) {
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execve(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::close(fd);
  auto p = std::unique_ptr<ChildProcess>(new ChildProcess());
  p->pid_ = pid;
  p->log_path_ = log_path;
  return p;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0 && status_ < 0) ::kill(pid_, sig);
}

static int Decode(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

int ChildProcess::Wait() {
  if (status_ >= 0) return status_;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  status_ = Decode(st);
  return status_;
}

int ChildProcess::WaitFor(int ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Running() ? -1 : status_;
}

bool ChildProcess::Running() {
  if (status_ >= 0) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = Decode(st);
    return false;
  }
  return true;
}

std::string ChildProcess::Output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         int timeout_ms) {
  std::string tmpl = std::filesystem::temp_directory_path().string() + "/probity-cmd-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd >= 0) ::close(fd);
  CommandResult r;
  auto p = ChildProcess::Start(argv, env, tmpl);
  if (!p.ok()) {
    r.output = p.status().ToString();
    return r;
  }
  r.code = (*p)->WaitFor(timeout_ms);
  if (r.code < 0) {
    (*p)->Signal(SIGKILL);
    (*p)->Wait();
    r.code = 124;
  }
  r.output = (*p)->Output();
  ::unlink(tmpl.c_str());
  return r;
}

}  // namespace probity::ledger::testing
