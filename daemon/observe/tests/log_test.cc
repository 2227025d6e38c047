// Log lines as they reach standard error (captured through a pipe): levels, both formats,
// escaping, and whole lines under concurrent writers.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "probity/observe/observe.h"

using namespace probity::observe;

namespace {

// Redirects file descriptor 2 into a pipe drained by a thread, until Finish().
class StderrCapture {
 public:
  StderrCapture() {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    read_fd_ = fds[0];
    saved_ = dup(STDERR_FILENO);
    REQUIRE(dup2(fds[1], STDERR_FILENO) == STDERR_FILENO);
    close(fds[1]);
    reader_ = std::thread([this] {
      char buf[8192];
      ssize_t n;
      while ((n = read(read_fd_, buf, sizeof(buf))) > 0) text_.append(buf, static_cast<size_t>(n));
    });
  }
  ~StderrCapture() { Finish(); }

  std::string Finish() {
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);  // closes the pipe's last write end: the reader sees EOF
      close(saved_);
      saved_ = -1;
      reader_.join();
      close(read_fd_);
    }
    return text_;
  }

 private:
  int read_fd_ = -1;
  int saved_ = -1;
  std::thread reader_;
  std::string text_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Restores the defaults whatever a test set.
struct DefaultLogs {
  DefaultLogs() { Reset(); }
  ~DefaultLogs() { Reset(); }
  static void Reset() {
    (void)SetLogLevel("info");
    (void)SetLogFormat("text");
  }
};

const std::string kTs = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";

}  // namespace

TEST_CASE("levels below the configured one are dropped") {
  DefaultLogs d;
  StderrCapture cap;
  LogDebug("t", "debug 1");
  LogInfo("t", "info 1");
  REQUIRE(SetLogLevel("warn").ok());
  LogInfo("t", "info 2");
  LogWarn("t", "warn 1");
  LogError("t", "error 1");
  REQUIRE(SetLogLevel("DEBUG").ok());
  LogDebug("t", "debug 2");
  REQUIRE(SetLogLevel("error").ok());
  LogWarn("t", "warn 2");
  Log(LogLevel::kError, "t", "error 2");
  auto lines = Lines(cap.Finish());
  REQUIRE(lines.size() == 5);
  CHECK(std::regex_match(lines[0], std::regex(kTs + " INFO  t info 1")));
  CHECK(std::regex_match(lines[1], std::regex(kTs + " WARN  t warn 1")));
  CHECK(std::regex_match(lines[2], std::regex(kTs + " ERROR t error 1")));
  CHECK(std::regex_match(lines[3], std::regex(kTs + " DEBUG t debug 2")));
  CHECK(std::regex_match(lines[4], std::regex(kTs + " ERROR t error 2")));
}

TEST_CASE("unknown level and format names are refused and change nothing") {
  DefaultLogs d;
  CHECK(SetLogLevel("verbose").code() == probity::Code::kInvalidArgument);
  CHECK(SetLogLevel("").code() == probity::Code::kInvalidArgument);
  CHECK(SetLogFormat("xml").code() == probity::Code::kInvalidArgument);
  StderrCapture cap;
  LogDebug("t", "hidden");
  LogInfo("t", "shown");
  auto lines = Lines(cap.Finish());
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(" INFO  t shown") != std::string::npos);
}

TEST_CASE("text lines: fields as key=value, quoted when needed, one event per line") {
  DefaultLogs d;
  StderrCapture cap;
  LogInfo("provider", "job committed", {{"job", "ab12"}, {"segments", "64"}});
  LogWarn("provider", "two\nlines", {{"why", "a b=\"c\"\\"}, {"empty", ""}, {"ctl", "x\x01y"}});
  auto lines = Lines(cap.Finish());
  REQUIRE(lines.size() == 2);
  CHECK(std::regex_match(lines[0],
                         std::regex(kTs + " INFO  provider job committed job=ab12 segments=64")));
  CHECK(lines[1].substr(25) ==
        R"(WARN  provider two\nlines why="a b=\"c\"\\" empty="" ctl="x\x01y")");
}

TEST_CASE("json lines: one object per line with every string escaped") {
  DefaultLogs d;
  REQUIRE(SetLogFormat("json").ok());
  StderrCapture cap;
  LogInfo("provider", "job committed", {{"job", "ab12"}, {"segments", "64"}});
  LogError("v\"x", "a \"quoted\"\\ msg\n\t\r\b\f\x01\x7f",
           {{"msg", "shadow"},
            {"utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
            {"bad",
             "a\xff"
             "b\xc3"
             "c\xed\xa0\x80"
             "d\xc0\xaf"}});
  auto lines = Lines(cap.Finish());
  REQUIRE(lines.size() == 2);
  CHECK(std::regex_match(
      lines[0], std::regex(R"(\{"ts":")" + kTs +
                           R"(","level":"info","component":"provider","msg":"job committed",)"
                           R"("job":"ab12","segments":"64"\})")));
  std::string rest = lines[1].substr(lines[1].find("\"level\""));
  CHECK(rest ==
        R"("level":"error","component":"v\"x","msg":"a \"quoted\"\\ msg\n\t\r\b\f\u0001\u007f",)"
        R"("_msg":"shadow","utf8":"café € 😀",)"
        R"("bad":"a\ufffdb\ufffdc\ufffd\ufffd\ufffdd\ufffd\ufffd"})");
}

TEST_CASE("PROBITY_LOG_LEVEL and PROBITY_LOG_FORMAT configure the logs") {
  DefaultLogs d;
  setenv("PROBITY_LOG_LEVEL", "error", 1);
  setenv("PROBITY_LOG_FORMAT", "json", 1);
  REQUIRE(ConfigureLogsFromEnv().ok());
  {
    StderrCapture cap;
    LogWarn("t", "dropped");
    LogError("t", "kept");
    auto lines = Lines(cap.Finish());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(R"("level":"error","component":"t","msg":"kept"})") != std::string::npos);
  }
  setenv("PROBITY_LOG_LEVEL", "loud", 1);
  probity::Status s = ConfigureLogsFromEnv();
  CHECK(s.code() == probity::Code::kInvalidArgument);
  CHECK(s.message().find("PROBITY_LOG_LEVEL") != std::string::npos);
  unsetenv("PROBITY_LOG_LEVEL");
  unsetenv("PROBITY_LOG_FORMAT");
  CHECK(ConfigureLogsFromEnv().ok());
}

TEST_CASE("lines written from many threads never interleave") {
  DefaultLogs d;
  REQUIRE(SetLogFormat("json").ok());
  StderrCapture cap;
  // Longer than PIPE_BUF, so that the kernel alone would not keep them whole.
  const std::string payload(6000, 'p');
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        LogInfo("thread", payload, {{"t", std::to_string(t)}, {"i", std::to_string(i)}});
      }
    });
  }
  for (auto& th : threads) th.join();
  auto lines = Lines(cap.Finish());
  REQUIRE(lines.size() == 800);
  // Each line whole: {"ts":"<24 chars>", the fixed middle, then its own "t" and "i".
  const std::string middle =
      R"(","level":"info","component":"thread","msg":")" + payload + R"(","t":")";
  std::set<std::string> seen;
  int bad = 0;
  for (const auto& l : lines) {
    bool ok = l.size() > 31 + middle.size() && l.compare(0, 7, R"({"ts":")") == 0 &&
              l.compare(31, middle.size(), middle) == 0 && l.back() == '}';
    if (ok) seen.insert(l.substr(31 + middle.size()));
    bad += ok ? 0 : 1;
  }
  CHECK(seen.size() == 800);
  CHECK(seen.count(R"(3","i":"199"})") == 1);
  CHECK(bad == 0);
}
