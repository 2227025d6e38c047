// DESIGN.md section 2's bounds on the largest segments of the reference jobs: re-execution on
// one CPU core within 100 ms, openings within 4 MiB. The segments are run on the fixture data
// (the cost of a step does not depend on which images it sees), so the test needs no system
// data set. Time is the thread CPU time of a one-thread cpu backend, whose ops run on the
// calling thread: the work of one core, independent of what else a shared machine runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>

#include "fixtures.h"

using namespace probity;
using namespace probity::workloads;

namespace {
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

// The reference spec on the 512-image fixture, with enough epochs for `segments` full segments.
JobSpec OnFixture(JobSpec spec, uint32_t segments) {
  spec.train.dataset = test_data::Train512()->id;
  spec.train.examples = 512;
  const uint64_t steps = uint64_t{segments} * spec.train.steps_per_segment;
  spec.train.epochs = static_cast<uint32_t>((steps + spec.train.steps_per_epoch() - 1) /
                                            spec.train.steps_per_epoch());
  REQUIRE(ValidateJobSpec(spec).ok());
  return spec;
}

void CheckBounds(const JobSpec& spec, uint64_t index) {
  auto provider = test_data::Cpu();
  auto one = test_data::Cpu(1);
  auto run = RunJob(spec, JobInputs{.catalog = &test_data::FixtureCatalog()}, *provider);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  auto opening = (*run)->Open(index, *provider);
  REQUIRE(opening.ok());
  // A full-size segment that starts from a carried state (the largest opening).
  const uint64_t begin = index * spec.train.steps_per_segment;
  REQUIRE(begin + spec.train.steps_per_segment <= spec.train.total_steps());
  const Bytes wire = EncodeOpening(*opening);
  MESSAGE(ArchitectureName(spec.train.architecture), ": opening ", wire.size(), " bytes");
  CHECK(wire.size() <= kMaxOpeningBytes);
  std::vector<double> ms;
  for (int rep = 0; rep < 3; ++rep) {
    const double t0 = ThreadCpuMs();
    auto out = Reexecute(*opening, *one, test_data::FixtureCatalog());
    ms.push_back(ThreadCpuMs() - t0);
    REQUIRE(out.ok());
    CHECK(*out == opening->record.output_hash);
  }
  std::sort(ms.begin(), ms.end());
  MESSAGE(ArchitectureName(spec.train.architecture), ": re-execution ", ms[1],
          " ms of one core (median of 3)");
  CHECK(ms[1] <= 100.0);
}
}  // namespace

TEST_CASE("bounds: the reference MLP's segments re-execute within 100 ms in 4 MiB") {
  CheckBounds(OnFixture(ReferenceMlpSpec(), 3), 1);
}

TEST_CASE("bounds: the reference CNN's segments re-execute within 100 ms in 4 MiB") {
  CheckBounds(OnFixture(ReferenceCnnSpec(), 3), 1);
}
