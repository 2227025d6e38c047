// The registry and its text exposition, compared byte for byte with what Prometheus parses.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <functional>
#include <limits>
#include <thread>

#include "probity/observe/observe.h"

using namespace probity::observe;

TEST_CASE("a small registry renders exactly, families sorted by name and series by labels") {
  Registry r;
  r.GetGauge("probity_test_mempool_txs", "Transactions waiting.").Set(3);
  Counter& ok = r.GetCounter("probity_test_checks_total", "Checks by outcome.", {{"result", "ok"}});
  Counter& bad =
      r.GetCounter("probity_test_checks_total", "Checks by outcome.", {{"result", "failed"}});
  ok.Inc();
  ok.Inc(41);
  bad.Inc();
  r.GetGauge("probity_test_ratio", "A fraction.").Set(0.25);
  r.GetGauge("probity_test_ratio", "A fraction.").Add(-1.5);

  CHECK(ok.value() == 42);
  // The same name and labels give the same series.
  CHECK(&r.GetCounter("probity_test_checks_total", "x", {{"result", "ok"}}) == &ok);

  const std::string expected =
      "# HELP probity_test_checks_total Checks by outcome.\n"
      "# TYPE probity_test_checks_total counter\n"
      "probity_test_checks_total{result=\"failed\"} 1\n"
      "probity_test_checks_total{result=\"ok\"} 42\n"
      "# HELP probity_test_mempool_txs Transactions waiting.\n"
      "# TYPE probity_test_mempool_txs gauge\n"
      "probity_test_mempool_txs 3\n"
      "# HELP probity_test_ratio A fraction.\n"
      "# TYPE probity_test_ratio gauge\n"
      "probity_test_ratio -1.25\n";
  CHECK(r.Render() == expected);
}

TEST_CASE("label values and help text are escaped") {
  Registry r;
  r.GetCounter("esc_total", "Help with a \\ backslash\nand a newline, \"quotes\" kept.",
               {{"path", "C:\\dir\n\"x\""}, {"a", ""}})
      .Inc();
  const std::string expected =
      "# HELP esc_total Help with a \\\\ backslash\\nand a newline, \"quotes\" kept.\n"
      "# TYPE esc_total counter\n"
      "esc_total{a=\"\",path=\"C:\\\\dir\\n\\\"x\\\"\"} 1\n";
  CHECK(r.Render() == expected);
}

TEST_CASE("histograms count into cumulative buckets with _sum and _count") {
  Registry r;
  Histogram& h = r.GetHistogram("job_seconds", "Job durations.", {0.5, 1, 2.5}, {{"kind", "mlp"}});
  for (double v : {0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 100.0}) h.Observe(v);
  CHECK(h.count() == 7);
  CHECK(h.sum() == 107.5);
  const std::string expected =
      "# HELP job_seconds Job durations.\n"
      "# TYPE job_seconds histogram\n"
      "job_seconds_bucket{kind=\"mlp\",le=\"0.5\"} 2\n"
      "job_seconds_bucket{kind=\"mlp\",le=\"1\"} 4\n"
      "job_seconds_bucket{kind=\"mlp\",le=\"2.5\"} 5\n"
      "job_seconds_bucket{kind=\"mlp\",le=\"+Inf\"} 7\n"
      "job_seconds_sum{kind=\"mlp\"} 107.5\n"
      "job_seconds_count{kind=\"mlp\"} 7\n";
  CHECK(r.Render() == expected);
}

TEST_CASE("a histogram without labels, and with the default duration buckets") {
  Registry r;
  std::vector<double> b = DurationBuckets();
  REQUIRE(b.size() > 5);
  CHECK(b.front() == 0.001);
  CHECK(b.back() >= 1800);
  for (size_t i = 1; i < b.size(); ++i) CHECK(b[i] > b[i - 1]);
  Histogram& h = r.GetHistogram("d", "D.", b);
  h.Observe(0.003);
  std::string text = r.Render();
  CHECK(text.find("d_bucket{le=\"0.0025\"} 0\n") != std::string::npos);
  CHECK(text.find("d_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(text.find("d_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
  CHECK(text.find("d_sum 0.003\nd_count 1\n") != std::string::npos);
}

TEST_CASE("special gauge values use Prometheus spellings") {
  Registry r;
  r.GetGauge("g", "G.", {{"v", "inf"}}).Set(std::numeric_limits<double>::infinity());
  r.GetGauge("g", "G.", {{"v", "minf"}}).Set(-std::numeric_limits<double>::infinity());
  r.GetGauge("g", "G.", {{"v", "nan"}}).Set(std::nan(""));
  r.GetGauge("g", "G.", {{"v", "big"}}).Set(1e21);
  std::string text = r.Render();
  CHECK(text.find("g{v=\"inf\"} +Inf\n") != std::string::npos);
  CHECK(text.find("g{v=\"minf\"} -Inf\n") != std::string::npos);
  CHECK(text.find("g{v=\"nan\"} NaN\n") != std::string::npos);
  CHECK(text.find("g{v=\"big\"} 1e+21\n") != std::string::npos);
}

TEST_CASE("collectors run at each render, before the families are written") {
  Registry r;
  int runs = 0;
  r.AddCollector([&](Registry& reg) {
    ++runs;
    reg.GetGauge("collected_height", "Height.").Set(100 + runs);
  });
  CHECK(runs == 0);
  CHECK(r.Render().find("collected_height 101\n") != std::string::npos);
  CHECK(r.Render().find("collected_height 102\n") != std::string::npos);
  CHECK(runs == 2);
}

TEST_CASE("counters and histograms are safe to update from many threads") {
  Registry r;
  Counter& c = r.GetCounter("n_total", "N.");
  Histogram& h = r.GetHistogram("h", "H.", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Inc();
        h.Observe(i % 2 == 0 ? 0.5 : 2);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 20; ++i) (void)r.Render();
  });
  for (auto& t : threads) t.join();
  scraper.join();
  CHECK(c.value() == 40000);
  CHECK(h.count() == 40000);
  std::string text = r.Render();
  CHECK(text.find("h_bucket{le=\"1\"} 20000\n") != std::string::npos);
  CHECK(text.find("h_bucket{le=\"+Inf\"} 40000\n") != std::string::npos);
}

TEST_CASE("the default registry is one object") {
  CHECK(&Registry::Default() == &Registry::Default());
}

namespace {

// Runs `misuse` in a child process; true when the child aborted.
bool Aborts(const std::function<void()>& misuse) {
  pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash handler: the abort is the point
    // The child's complaint would only clutter the test output.
    FILE* devnull = std::freopen("/dev/null", "w", stderr);
    (void)devnull;
    misuse();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace

TEST_CASE("misuse of the registry is a programming error that stops the process") {
  CHECK(Aborts([] {
    Registry r;
    r.GetCounter("m", "M.");
    r.GetGauge("m", "M.");
  }));
  CHECK(Aborts([] { Registry().GetCounter("bad-name", "B."); }));
  CHECK(Aborts([] { Registry().GetCounter("ok", "B.", {{"__reserved", "x"}}); }));
  CHECK(Aborts([] { Registry().GetHistogram("h", "H.", {1, 1}); }));
  CHECK(Aborts([] { Registry().GetHistogram("h", "H.", {1}, {{"le", "x"}}); }));
  CHECK(Aborts([] {
    Registry r;
    r.GetHistogram("h", "H.", {1, 2});
    r.GetHistogram("h", "H.", {1, 3});
  }));
  CHECK_FALSE(Aborts([] {
    Registry r;
    r.GetHistogram("h", "H.", {1, 2}, {{"a", "1"}});
    r.GetHistogram("h", "H.", {1, 2}, {{"a", "2"}});
    r.GetCounter("name_with:colon_9", "N.");
  }));
}
