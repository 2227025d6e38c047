// `probity node` observed from outside: Prometheus metrics scraped over HTTP while it commits
// transactions, structured JSON logs, and bad observability flags refused at start-up.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <map>
#include <sstream>
#include <thread>

#include "node_harness.h"

using namespace probity;
using namespace probity::ledger;
using testing::CommandResult;
using testing::RunCommand;
using testing::TestKey;

namespace {

// One HTTP/1.1 GET over loopback; the whole response ("" when nothing answers).
std::string HttpGet(const std::string& address, const std::string& path) {
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\n\r\n";
    REQUIRE(send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

// Sample lines of an exposition ("name{labels}" -> value); comments skipped.
std::map<std::string, double> Samples(const std::string& response) {
  std::map<std::string, double> out;
  std::stringstream body(response.substr(response.find("\r\n\r\n") + 4));
  for (std::string line; std::getline(body, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

// The value of "key":"..." in the node's output (its --json start line).
std::string StartField(testing::NodeProcess& node, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  for (int i = 0; i < 500; ++i) {
    std::string out = node.process().Output();
    size_t p = out.find("\"event\":\"started\"");
    if (p != std::string::npos) {
      size_t v = out.find(k, p);
      if (v == std::string::npos) return "";
      v += k.size();
      return out.substr(v, out.find('"', v) - v);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

}  // namespace

TEST_CASE("probity node serves /metrics that follow its chain, and logs JSON lines") {
  testing::TempDir dir;
  const std::string home = dir.path() + "/home";
  REQUIRE(testing::InitHome(home, {"--fund", testing::FundFlag(2, 1000000)}).ok());
  auto node = testing::NodeProcess::Start(home, {"--block-interval-ms", "20", "--metrics",
                                                 "127.0.0.1:0", "--log-format", "json", "--json"});
  REQUIRE_MESSAGE(node.ok(), node.status().ToString());
  const std::string metrics = StartField(**node, "metrics");
  REQUIRE_MESSAGE(metrics.rfind("127.0.0.1:", 0) == 0, (*node)->process().Output());
  REQUIRE((*node)->WaitForHeight(1, 10000));

  std::string health = HttpGet(metrics, "/healthz");
  CHECK(health.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(HttpGet(metrics, "/nothing").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);

  auto client = (*node)->Client();
  for (uint64_t nonce = 1; nonce <= 3; ++nonce) {
    auto r = client->Submit(testing::Transfer(1, TestKey(2).PublicKey(), 10, nonce),
                            /*wait=*/true, std::chrono::seconds(10));
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    REQUIRE(r->committed());
  }
  const uint64_t height = (*node)->Height();

  std::string scrape = HttpGet(metrics, "/metrics");
  REQUIRE(scrape.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(scrape.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(scrape.find("# TYPE probity_node_height gauge\n") != std::string::npos);
  CHECK(scrape.find("# TYPE probity_node_txs_committed_total counter\n") != std::string::npos);
  auto m = Samples(scrape);
  CHECK(m["probity_node_info{chain_id=\"probity-local\",mode=\"producer\"}"] == 1);
  CHECK(m["probity_node_height"] >= static_cast<double>(height));
  CHECK(m["probity_node_txs_committed_total"] == 3);
  CHECK(m["probity_node_blocks_committed_total"] >= 2);
  CHECK(m["probity_node_blocks_committed_total"] <= m["probity_node_height"]);
  CHECK(m.count("probity_node_mempool_txs") == 1);
  CHECK(m.count("probity_node_mempool_bytes") == 1);
  CHECK(m["probity_node_halted"] == 0);
  CHECK(m["probity_node_seconds_since_commit"] >= 0);
  CHECK(m["probity_node_seconds_since_commit"] < 60);
  CHECK(m["probity_node_last_block_age_seconds"] < 60);
  CHECK(m.count("probity_node_follower_connected") == 0);  // a producer follows no one

  (*node)->process().Signal(SIGTERM);
  CHECK((*node)->process().WaitFor(10000) == 0);
  std::string out = (*node)->process().Output();
  CHECK(out.find(R"("level":"info","component":"node","msg":"node started","mode":"producer")") !=
        std::string::npos);
  CHECK(out.find(R"("msg":"node stopped")") != std::string::npos);
  CHECK(HttpGet(metrics, "/metrics").empty());  // stopped with the node
}

TEST_CASE("bad observability flags stop probity node before it starts") {
  testing::TempDir dir;
  const std::string home = dir.path() + "/home";
  REQUIRE(testing::InitHome(home, {}).ok());
  auto run = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {
        testing::ProbityBinary(), "node", "--home", home, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {testing::kPassphraseEnv}, 30000);
  };
  CommandResult level = run({"--log-level", "loud"});
  CHECK(level.code == 1);
  CHECK(level.output.find("--log-level") != std::string::npos);
  CommandResult format = run({"--log-format", "xml"});
  CHECK(format.code == 1);
  CHECK(format.output.find("--log-format") != std::string::npos);
  CommandResult address = run({"--metrics", "nowhere"});
  CHECK(address.code == 1);
  CHECK(address.output.find("host:port") != std::string::npos);
  CommandResult half_tls = run({"--tls-cert", home + "/x.crt"});
  CHECK(half_tls.code == 1);
  CHECK(half_tls.output.find("--tls-key") != std::string::npos);
}
