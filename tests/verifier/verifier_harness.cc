#include "verifier_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "probity/ledger/node_home.h"

namespace probity::verifierd::testing {

namespace lt = ledger::testing;

Result<std::unique_ptr<VerifierProcess>> VerifierProcess::Start(
    const std::string& home, const std::string& key, const std::string& node,
    const std::vector<std::string>& args) {
  const std::string addr_file = home + "/verifier/metrics.addr";
  std::error_code ec;
  std::filesystem::remove(addr_file, ec);  // a killed verifier leaves its old one behind
  std::vector<std::string> argv = {
      lt::ProbityBinary(), "verifier",   "--home", home, "--key", key, "--node", node,
      "--metrics",         "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  static int run = 0;
  auto p = std::unique_ptr<VerifierProcess>(new VerifierProcess());
  PROBITY_ASSIGN_OR_RETURN(
      p->process_, lt::ChildProcess::Start(argv, {lt::kPassphraseEnv},
                                           home + "/verifier-" + std::to_string(run++) + ".log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!p->process_->Running()) {
      return Status::Internal("probity verifier exited: " + p->process_->Output());
    }
    auto addr = ledger::ReadFileToString(addr_file);
    if (addr.ok() && !addr->empty() && addr->back() == '\n') {
      p->metrics_ = addr->substr(0, addr->size() - 1);
      return p;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded("probity verifier did not start: " + p->process_->Output());
}

int VerifierProcess::Stop(int ms) {
  process_->Signal(SIGTERM);
  return process_->WaitFor(ms);
}

std::string ScrapeMetric(const std::string& address, const std::string& name) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return "";
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return "";
  }
  std::string body;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) body.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t p = body.find("\n" + name + " ");
  if (p == std::string::npos) return "";
  const size_t start = p + name.size() + 2;
  return body.substr(start, body.find('\n', start) - start);
}

}  // namespace probity::verifierd::testing
