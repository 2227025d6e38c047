// The /metrics server over real loopback sockets: answers, refusals, and surviving clients
// that are slow, silent, oversized or garbage.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "probity/observe/observe.h"

using namespace probity::observe;

namespace {

int Port(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

int Connect(const std::string& address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(Port(address)));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  return fd;
}

// Everything the server sends until it closes (or `timeout_ms` passes).
std::string ReadAll(int fd, int timeout_ms = 3000) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close on us mid-way (that is the point of some tests)
    off += static_cast<size_t>(n);
  }
}

std::string Exchange(const std::string& address, const std::string& request) {
  int fd = Connect(address);
  SendAll(fd, request);
  std::string r = ReadAll(fd);
  close(fd);
  return r;
}

std::string Get(const std::string& address, const std::string& path) {
  return Exchange(address, "GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
}

std::string Body(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

struct Served {
  Registry registry;
  std::unique_ptr<MetricsServer> server;
  explicit Served(MetricsServerOptions options = {}) {
    registry.GetCounter("probity_test_requests_total", "Requests.").Inc(7);
    auto s = MetricsServer::Start("127.0.0.1:0", registry, options);
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    server = std::move(*s);
  }
};

}  // namespace

TEST_CASE("GET /metrics answers the registry's exposition over real HTTP") {
  Served s;
  CHECK(s.server->address().rfind("127.0.0.1:", 0) == 0);
  CHECK(Port(s.server->address()) > 0);
  std::string r = Get(s.server->address(), "/metrics");
  CHECK(StatusLine(r) == "HTTP/1.1 200 OK");
  CHECK(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
        std::string::npos);
  std::string body = Body(r);
  CHECK(body == s.registry.Render());
  CHECK(r.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
  CHECK(body.find("probity_test_requests_total 7\n") != std::string::npos);

  // A query string is ignored; HEAD gets the headers only.
  CHECK(StatusLine(Get(s.server->address(), "/metrics?x=1")) == "HTTP/1.1 200 OK");
  std::string head = Exchange(s.server->address(), "HEAD /metrics HTTP/1.0\r\n\r\n");
  CHECK(StatusLine(head) == "HTTP/1.1 200 OK");
  CHECK(Body(head).empty());
}

TEST_CASE("collectors run on each scrape") {
  Served s;
  int scrapes = 0;
  s.registry.AddCollector([&](Registry& r) { r.GetGauge("scrapes", "S.").Set(++scrapes); });
  CHECK(Body(Get(s.server->address(), "/metrics")).find("scrapes 1\n") != std::string::npos);
  CHECK(Body(Get(s.server->address(), "/metrics")).find("scrapes 2\n") != std::string::npos);
}

TEST_CASE("/healthz is ok; other paths 404; other methods 405") {
  Served s;
  std::string h = Get(s.server->address(), "/healthz");
  CHECK(StatusLine(h) == "HTTP/1.1 200 OK");
  CHECK(Body(h) == "ok\n");
  CHECK(StatusLine(Get(s.server->address(), "/")) == "HTTP/1.1 404 Not Found");
  CHECK(StatusLine(Get(s.server->address(), "/metricsx")) == "HTTP/1.1 404 Not Found");
  std::string post = Exchange(s.server->address(), "POST /metrics HTTP/1.1\r\n\r\n");
  CHECK(StatusLine(post) == "HTTP/1.1 405 Method Not Allowed");
  CHECK(post.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
}

TEST_CASE("garbage and oversized requests are refused and the server keeps serving") {
  Served s;
  const std::string& a = s.server->address();
  CHECK(StatusLine(Exchange(a, "hello\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  CHECK(StatusLine(Exchange(a, "GET /metrics SPDY/3\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  CHECK(StatusLine(Exchange(a, "GET metrics HTTP/1.1\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
  CHECK(StatusLine(Exchange(a, std::string("\0\x01\xff\xfe\r\n\r\n", 8))) ==
        "HTTP/1.1 400 Bad Request");
  // A head that never ends: refused once past the limit, without waiting for the rest.
  std::string huge = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(200000, 'a');
  CHECK(StatusLine(Exchange(a, huge)) == "HTTP/1.1 431 Request Header Fields Too Large");
  // A complete head just over the limit is refused too; one just under it is served.
  std::string over = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(8192, 'a') + "\r\n\r\n";
  CHECK(StatusLine(Exchange(a, over)) == "HTTP/1.1 431 Request Header Fields Too Large");
  std::string under = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(8000, 'a') + "\r\n\r\n";
  CHECK(StatusLine(Exchange(a, under)) == "HTTP/1.1 200 OK");
  // A client that connects and goes away, or sends half a request and closes.
  close(Connect(a));
  {
    int fd = Connect(a);
    SendAll(fd, "GET /met");
    shutdown(fd, SHUT_WR);
    CHECK(ReadAll(fd).empty());
    close(fd);
  }
  CHECK(StatusLine(Get(a, "/metrics")) == "HTTP/1.1 200 OK");
}

TEST_CASE("a silent client neither blocks other scrapes nor holds its slot for long") {
  MetricsServerOptions o;
  o.io_timeout = std::chrono::milliseconds(300);
  Served s(o);
  const std::string& a = s.server->address();
  std::vector<int> silent;
  for (int i = 0; i < 8; ++i) silent.push_back(Connect(a));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(StatusLine(Get(a, "/metrics")) == "HTTP/1.1 200 OK");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));
  // The server drops a connection that has sent nothing within its timeout.
  t0 = std::chrono::steady_clock::now();
  pollfd p{silent[0], POLLIN, 0};
  REQUIRE(poll(&p, 1, 3000) == 1);
  char c;
  CHECK(recv(silent[0], &c, 1, 0) == 0);  // EOF: closed by the server, nothing sent
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  // The same holds for a client that sends half a request and then nothing.
  int slow = Connect(a);
  SendAll(slow, "GET /metrics HTTP/1.1\r\nHost:");
  CHECK(ReadAll(slow, 3000).empty());
  close(slow);
  for (int fd : silent) close(fd);
}

TEST_CASE("many connections one after another, then a clean stop") {
  Served s;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(StatusLine(Get(s.server->address(), i % 2 ? "/metrics" : "/healthz")) ==
            "HTTP/1.1 200 OK");
  }
  std::string address = s.server->address();
  auto t0 = std::chrono::steady_clock::now();
  s.server.reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  // Nothing listens there any more.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(Port(address)));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0);
  close(fd);
}

TEST_CASE("Stop closes connections still open") {
  Served s;
  int fd = Connect(s.server->address());
  SendAll(fd, "GET /metr");
  s.server.reset();
  CHECK(ReadAll(fd, 2000).empty());
  close(fd);
}

TEST_CASE("addresses: malformed ones are invalid, a taken port is unavailable") {
  Registry r;
  for (const char* bad : {"", "nocolon", ":9100", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:9x",
                          "::1:9100", "[::1:9100", "[]:9100"}) {
    auto s = MetricsServer::Start(bad, r);
    CHECK_MESSAGE(s.status().code() == probity::Code::kInvalidArgument, bad);
  }
  auto first = MetricsServer::Start("127.0.0.1:0", r);
  REQUIRE(first.ok());
  auto second = MetricsServer::Start((*first)->address(), r);
  CHECK(second.status().code() == probity::Code::kUnavailable);
  // IPv6 loopback in brackets (when the machine has it).
  auto v6 = MetricsServer::Start("[::1]:0", r);
  if (v6.ok()) CHECK((*v6)->address().rfind("[::1]:", 0) == 0);
}
