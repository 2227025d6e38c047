// TEST ONLY: a TCP forwarder on 127.0.0.1 that a fault test puts between a daemon and the node,
// so that it can cut the daemon's connection (every open connection closed, new ones closed at
// once, for a while) while both processes stay up: a network fault, not an outage.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "probity/primitives/status.h"

namespace probity::ledger::testing {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (an ephemeral port) and forwards each connection to `upstream`
  // ("127.0.0.1:PORT"), a new upstream connection per accepted one.
  static Result<std::unique_ptr<TcpProxy>> Start(const std::string& upstream);
  ~TcpProxy();  // closes everything and joins its threads

  const std::string& address() const { return address_; }
  // Closes every open connection now and, for `how_long`, closes new ones as soon as they are
  // accepted (the client sees its connection reset, as on a broken link).
  void Cut(std::chrono::milliseconds how_long);
  uint64_t accepted() const { return accepted_; }
  uint64_t refused() const { return refused_; }

 private:
  struct Pipe {
    int client = -1, server = -1;
    std::thread up, down;
    std::atomic<int> running{2};
  };
  TcpProxy() = default;
  void AcceptLoop();
  static void Pump(int from, int to, std::atomic<int>* running);
  void Reap(bool all);  // joins finished pipes (all: shuts every pipe down first)

  std::string upstream_host_;
  int upstream_port_ = 0;
  std::string address_;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::list<std::unique_ptr<Pipe>> pipes_;             // guarded by mu_
  std::chrono::steady_clock::time_point cut_until_{};  // guarded by mu_
  std::atomic<uint64_t> accepted_{0}, refused_{0};
};

}  // namespace probity::ledger::testing
