#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace probity::ledger::testing {
namespace {

void CloseBoth(int a, int b) {
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
}

// Closes with a reset (SO_LINGER 0), as a broken link looks to the peer.
void Reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<TcpProxy>> TcpProxy::Start(const std::string& upstream) {
  std::unique_ptr<TcpProxy> p(new TcpProxy());
  const size_t colon = upstream.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("upstream needs host:port");
  p->upstream_host_ = upstream.substr(0, colon);
  p->upstream_port_ = std::atoi(upstream.c_str() + colon + 1);
  p->listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (p->listen_fd_ < 0) return Status::IOError("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(p->listen_fd_, 64) != 0) {
    return Status::IOError("bind/listen: " + std::string(std::strerror(errno)));
  }
  socklen_t len = sizeof a;
  ::getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  p->address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  Reap(true);
}

void TcpProxy::Cut(std::chrono::milliseconds how_long) {
  std::lock_guard<std::mutex> l(mu_);
  cut_until_ = std::chrono::steady_clock::now() + how_long;
  for (auto& p : pipes_) CloseBoth(p->client, p->server);
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    pollfd pf{listen_fd_, POLLIN, 0};
    if (::poll(&pf, 1, 100) <= 0) {
      Reap(false);
      continue;
    }
    const int c = ::accept(listen_fd_, nullptr, nullptr);
    if (c < 0) continue;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (std::chrono::steady_clock::now() < cut_until_) {
        ++refused_;
        Reset(c);
        continue;
      }
    }
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    ::inet_pton(AF_INET, upstream_host_.c_str(), &a.sin_addr);
    if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      if (s >= 0) ::close(s);
      ++refused_;
      Reset(c);  // the upstream is down: so is the link
      continue;
    }
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++accepted_;
    auto pipe = std::make_unique<Pipe>();
    pipe->client = c;
    pipe->server = s;
    Pipe* raw = pipe.get();
    raw->up = std::thread(Pump, c, s, &raw->running);
    raw->down = std::thread(Pump, s, c, &raw->running);
    std::lock_guard<std::mutex> l(mu_);
    pipes_.push_back(std::move(pipe));
  }
}

// Copies until either side ends, then shuts both down so that the other direction ends too.
void TcpProxy::Pump(int from, int to, std::atomic<int>* running) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) break;
    ssize_t off = 0;
    while (off < n) {
      const ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0) {
        off = -1;
        break;
      }
      off += w;
    }
    if (off < 0) break;
  }
  CloseBoth(from, to);
  --*running;
}

void TcpProxy::Reap(bool all) {
  std::list<std::unique_ptr<Pipe>> done;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = pipes_.begin(); it != pipes_.end();) {
      if (all) CloseBoth((*it)->client, (*it)->server);
      if (all || (*it)->running == 0) {
        done.push_back(std::move(*it));
        it = pipes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : done) {
    p->up.join();
    p->down.join();
    ::close(p->client);
    ::close(p->server);
  }
}

}  // namespace probity::ledger::testing
