#include "provider_harness.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "probity/ledger/node_home.h"
#include "probity/primitives/keystore.h"

namespace probity::provider::testing {

namespace lt = ledger::testing;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return 0;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

Status WriteTestKey(const std::string& home, const std::string& name, const SecretKey& key) {
  std::error_code ec;
  std::filesystem::create_directories(home + "/keys", ec);
  ScryptParams fast;
  fast.n = 1 << 10;
  const std::string pass = lt::kPassphraseEnv.substr(lt::kPassphraseEnv.find('=') + 1);
  return WriteKeyFile(home + "/keys/" + name + ".key", key, pass, fast, /*overwrite=*/true);
}

Result<std::unique_ptr<ProviderProcess>> ProviderProcess::Start(
    const std::string& home, const std::vector<std::string>& args,
    const std::vector<std::string>& env) {
  const std::string addr_file = home + "/provider/provider.addr";
  std::error_code ec;
  std::filesystem::remove(addr_file, ec);  // a killed provider leaves its old one behind
  std::vector<std::string> argv = {lt::ProbityBinary(), "provider", "--home", home};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> full_env = {lt::kPassphraseEnv};
  full_env.insert(full_env.end(), env.begin(), env.end());
  auto p = std::unique_ptr<ProviderProcess>(new ProviderProcess());
  static int run = 0;
  PROBITY_ASSIGN_OR_RETURN(
      p->process_, lt::ChildProcess::Start(argv, full_env,
                                           home + "/provider-" + std::to_string(run++) + ".log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!p->process_->Running()) {
      return Status::Internal("probity provider exited: " + p->process_->Output());
    }
    auto addr = ledger::ReadFileToString(addr_file);
    if (addr.ok() && !addr->empty() && addr->back() == '\n') {
      p->address_ = addr->substr(0, addr->size() - 1);
      return p;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::DeadlineExceeded("probity provider did not start: " + p->process_->Output());
}

}  // namespace probity::provider::testing
