#include "external_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace probity::provider {
namespace {

// Closes what it holds on every path out.
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

int Reap(pid_t pid, bool kill_first) {
  // The whole process group: a shell's children (a `sleep`, a pipeline) go too, and none is
  // left holding the daemon's standard error.
  if (kill_first) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

Result<std::string> RunExternalCommand(const std::string& command, const std::string& input,
                                       const CommandLimits& limits) {
  // A command that exits without reading its input would make the write below raise SIGPIPE,
  // which kills a process by default. Servers ignore it process-wide (gRPC does too) and
  // take EPIPE instead.
  static const bool sigpipe_ignored = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0)
    return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  Fd in_read{in_pipe[0]}, in_write{in_pipe[1]};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return Status::IOError(std::string("pipe: ") + std::strerror(errno));
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO);
  // The daemon blocks SIGINT/SIGTERM in its threads; the child starts with a clean mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, killed as one
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  const int rc =
      ::posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::IOError("cannot start '" + command + "': " + std::strerror(rc));
  in_read.Close();
  out_write.Close();

  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
  size_t written = 0;
  if (input.empty()) in_write.Close();
  std::string output;
  bool eof = false;
  while (!eof) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      Reap(pid, true);
      return Status::DeadlineExceeded("'" + command + "' did not answer within " +
                                      std::to_string(limits.timeout.count()) + " ms");
    }
    pollfd fds[2] = {{out_read.fd, POLLIN, 0}, {in_write.fd, POLLOUT, 0}};
    const int nfds = in_write.fd >= 0 ? 2 : 1;
    int n = ::poll(fds, nfds, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) {
      Reap(pid, true);
      return Status::IOError(std::string("poll: ") + std::strerror(errno));
    }
    if (n <= 0) continue;
    if (nfds == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in_write.fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      // A command that does not read its input (or closed it) is its own business.
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
      if (written == input.size()) in_write.Close();
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[1024];
      ssize_t r = ::read(out_read.fd, buf, sizeof(buf));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        eof = true;
      } else {
        output.append(buf, static_cast<size_t>(r));
        if (output.size() > limits.max_output_bytes) {
          Reap(pid, true);
          return Status::ResourceExhausted("'" + command + "' printed more than " +
                                           std::to_string(limits.max_output_bytes) + " bytes");
        }
      }
    }
  }
  in_write.Close();
  // Output closed: the command is finishing; give it the rest of the time to exit.
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR)
      return Status::IOError(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      Reap(pid, true);
      return Status::DeadlineExceeded("'" + command + "' did not exit within " +
                                      std::to_string(limits.timeout.count()) + " ms");
    }
    ::usleep(2000);
  }
  if (WIFSIGNALED(status)) {
    return Status::FailedPrecondition("'" + command + "' was killed by signal " +
                                      std::to_string(WTERMSIG(status)));
  }
  if (WEXITSTATUS(status) != 0) {
    return Status::FailedPrecondition("'" + command + "' exited with status " +
                                      std::to_string(WEXITSTATUS(status)));
  }
  return output;
}

}  // namespace probity::provider
