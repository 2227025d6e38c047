// The /metrics endpoint: a deliberately small HTTP/1.1 server on one thread.
//
// One poll() loop holds the listening socket, a wake-up pipe for Stop, and up to
// kMaxConnections non-blocking connections. Each connection sends one request (at most
// max_request_bytes of request line and headers) and gets one response, then is closed
// (Connection: close); a connection that has not finished within the I/O timeout is dropped.
// So a slow, silent or garbage-spewing client costs one slot for a few seconds and never
// blocks a scrape or the thread. After the response the server shuts its sending side and
// reads (and discards) what the client still sends until the client closes: closing with
// unread input would make the kernel reset the connection, and the client could lose the
// response it has not read yet (an oversized request's 431, for one).
//
//   GET|HEAD /metrics   200, text/plain; version=0.0.4 (Registry::Render)
//   GET|HEAD /healthz   200, "ok\n"
//   other paths         404
//   other methods       405
//   malformed request   400;  request head over the limit  431
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "probity/observe/observe.h"

namespace probity::observe {
namespace {

constexpr size_t kMaxConnections = 64;
constexpr size_t kMaxDrainBytes = 1 << 20;

using Clock = std::chrono::steady_clock;

struct Connection {
  enum class State { kReading, kWriting, kDraining };
  int fd = -1;
  State state = State::kReading;
  Clock::time_point deadline;
  std::string in;
  std::string out;
  size_t sent = 0;
  size_t drained = 0;
};

std::string Response(int code, const std::string& reason, const std::string& content_type,
                     const std::string& body, bool head_only, const std::string& extra = "") {
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
  r += "Content-Type: " + content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra;
  r += "Connection: close\r\n\r\n";
  if (!head_only) r += body;
  return r;
}

std::string PlainResponse(int code, const std::string& reason, bool head_only = false,
                          const std::string& extra = "") {
  return Response(code, reason, "text/plain; charset=utf-8", reason + "\n", head_only, extra);
}

// Splits "host:port" (host may be "[v6]"); the port must be decimal 0..65535.
Status SplitAddress(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("metrics address '" + address + "' is not \"host:port\"");
  }
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->front() == '[') {
    if (host->size() < 3 || host->back() != ']') {
      return Status::InvalidArgument("metrics address '" + address + "': bad IPv6 host");
    }
    *host = host->substr(1, host->size() - 2);
  } else if (host->find(':') != std::string::npos) {
    return Status::InvalidArgument("metrics address '" + address +
                                   "': write an IPv6 host in brackets, as [::1]:9100");
  }
  if (port->size() > 5 || port->find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(*port) > 65535) {
    return Status::InvalidArgument("metrics address '" + address + "': the port must be 0..65535");
  }
  return Status::OK();
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

struct MetricsServer::Impl {
  Registry* registry = nullptr;
  MetricsServerOptions options;
  std::string address;
  int listen_fd = -1;
  int wake_read = -1;
  int wake_write = -1;
  std::thread thread;
  std::vector<Connection> conns;

  ~Impl() {
    if (thread.joinable()) {
      char b = 1;
      while (write(wake_write, &b, 1) < 0 && errno == EINTR) {
      }
      thread.join();
    }
    for (auto& c : conns) close(c.fd);
    if (listen_fd >= 0) close(listen_fd);
    if (wake_read >= 0) close(wake_read);
    if (wake_write >= 0) close(wake_write);
  }

  // Decides the answer once the request head is complete (or has grown past the limit).
  std::string Answer(const std::string& head) {
    size_t eol = head.find_first_of("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos ||
        line.find(' ', sp2 + 1) != std::string::npos) {
      return PlainResponse(400, "Bad Request");
    }
    std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string version = line.substr(sp2 + 1);
    if (version.rfind("HTTP/1.", 0) != 0 || version.size() != 8 || target.empty() ||
        target[0] != '/') {
      return PlainResponse(400, "Bad Request");
    }
    bool head_only = method == "HEAD";
    if (method != "GET" && !head_only) {
      return PlainResponse(405, "Method Not Allowed", false, "Allow: GET, HEAD\r\n");
    }
    std::string path = target.substr(0, target.find('?'));
    if (path == "/metrics") {
      return Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", registry->Render(),
                      head_only);
    }
    if (path == "/healthz") {
      return Response(200, "OK", "text/plain; charset=utf-8", "ok\n", head_only);
    }
    return PlainResponse(404, "Not Found", head_only);
  }

  // Reads what has arrived. Once the request head is complete (or has grown past the limit)
  // the answer is decided and the connection turns to writing.
  void OnReadable(Connection& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        if (c.state == Connection::State::kDraining) {
          c.drained += static_cast<size_t>(n);
          if (c.drained > kMaxDrainBytes) c.deadline = Clock::time_point::min();
          continue;
        }
        c.in.append(buf, static_cast<size_t>(n));
        // The head ends at the first empty line; bare "\n\n" is accepted from lax clients.
        size_t end = c.in.find("\r\n\r\n");
        if (end == std::string::npos) end = c.in.find("\n\n");
        if (end != std::string::npos && end <= options.max_request_bytes) {
          c.out = Answer(c.in.substr(0, end));
        } else if (c.in.size() > options.max_request_bytes) {
          c.out = PlainResponse(431, "Request Header Fields Too Large");
        } else {
          continue;
        }
        c.in.clear();
        c.state = Connection::State::kWriting;
        return;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.deadline = Clock::time_point::min();  // closed or failed: drop it
      return;
    }
  }

  // Sends what the socket takes; once everything is out, shuts the sending side and drains.
  void OnWritable(Connection& c) {
    while (c.sent < c.out.size()) {
      ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.deadline = Clock::time_point::min();  // the peer is gone
      return;
    }
    shutdown(c.fd, SHUT_WR);
    c.state = Connection::State::kDraining;
  }

  void Accept() {
    while (conns.size() < kMaxConnections) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        // Out of descriptors: the pending client stays in the backlog and keeps the listening
        // socket readable; pause instead of spinning on it.
        if (errno == EMFILE || errno == ENFILE) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return;
      }
      Connection c;
      c.fd = fd;
      c.deadline = Clock::now() + options.io_timeout;
      conns.push_back(std::move(c));
    }
  }

  void Loop() {
    std::vector<pollfd> fds;
    for (;;) {
      fds.clear();
      fds.push_back({wake_read, POLLIN, 0});
      // At the connection limit the listening socket is left alone: new clients wait in the
      // backlog until a slot frees (at the latest when the oldest times out).
      fds.push_back({conns.size() < kMaxConnections ? listen_fd : -1, POLLIN, 0});
      Clock::time_point now = Clock::now();
      Clock::time_point next = now + std::chrono::seconds(1);
      for (const auto& c : conns) {
        short events = c.state == Connection::State::kWriting ? POLLOUT : POLLIN;
        fds.push_back({c.fd, events, 0});
        next = std::min(next, c.deadline);
      }
      int timeout_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1);
      int ready = poll(fds.data(), fds.size(), std::max(timeout_ms, 0));
      if (ready < 0) {
        if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (fds[0].revents != 0) return;  // Stop
      // Connections first: Accept appends to `conns`, whose first entries match fds[2..].
      now = Clock::now();
      std::vector<Connection> kept;
      kept.reserve(conns.size());
      for (size_t i = 0; i < conns.size(); ++i) {
        Connection& c = conns[i];
        if (fds[i + 2].revents != 0) {
          if (c.state != Connection::State::kWriting) OnReadable(c);
          if (c.state == Connection::State::kWriting) OnWritable(c);
        }
        if (c.deadline <= now) {
          close(c.fd);
        } else {
          kept.push_back(std::move(c));
        }
      }
      conns = std::move(kept);
      if (fds[1].revents & POLLIN) Accept();
    }
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsServer::~MetricsServer() = default;

const std::string& MetricsServer::address() const { return impl_->address; }

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            Registry& registry) {
  return Start(address, registry, MetricsServerOptions{});
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                            Registry& registry,
                                                            const MetricsServerOptions& options) {
  if (options.max_request_bytes < 64 || options.io_timeout.count() <= 0) {
    return Status::InvalidArgument("metrics server options out of range");
  }
  std::string host, port;
  PROBITY_RETURN_IF_ERROR(SplitAddress(address, &host, &port));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return Status::InvalidArgument("metrics address '" + address + "': " + gai_strerror(gai));
  }
  auto impl = std::make_unique<Impl>();
  impl->registry = &registry;
  impl->options = options;
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
      impl->listen_fd = fd;
      break;
    }
    last_error = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  if (impl->listen_fd < 0) {
    return Status::Unavailable("cannot serve metrics on " + address + " (" + last_error + ")");
  }
  SetNonBlocking(impl->listen_fd);
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  uint16_t bound_port = bound.ss_family == AF_INET6
                            ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                            : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  impl->address = address.substr(0, address.rfind(':')) + ":" + std::to_string(bound_port);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::Unavailable(std::string("cannot create the metrics server's pipe: ") +
                               std::strerror(errno));
  }
  impl->wake_read = pipe_fds[0];
  impl->wake_write = pipe_fds[1];
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Loop(); });
  return std::make_unique<MetricsServer>(std::move(impl));
}

}  // namespace probity::observe
