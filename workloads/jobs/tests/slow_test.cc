// Runs on Debian's Fashion-MNIST (package dataset-fashion-mnist), minutes of CPU: labelled
// `slow`. The reference MLP reaches the dataset benchmark's "MLP 256-128-100" accuracy.
#include <doctest/doctest.h>

#include "probity/primitives/hex.h"
#include "probity/workloads/workloads.h"

using namespace probity;
using namespace probity::workloads;

TEST_CASE("fashion-mnist: Debian's files load, with the published ids") {
  auto train = LoadFashionMnist(FashionMnistSplit::kTrain);
  REQUIRE_MESSAGE(train.ok(), train.status().ToString());
  CHECK(train->count == 60000);
  CHECK(train->id == FashionMnistTrainId());
  auto test = LoadFashionMnist(FashionMnistSplit::kTest);
  REQUIRE_MESSAGE(test.ok(), test.status().ToString());
  CHECK(test->count == 10000);
  CHECK(test->id == FashionMnistTestId());
}

TEST_CASE("train-classifier: the reference MLP reaches 0.8833 on the test set (cpu)") {
  auto cpu = CreateBackend("cpu").value();
  const JobSpec spec = ReferenceMlpSpec();
  auto run = RunJob(spec, JobInputs{}, *cpu, RunOptions{.checkpoint_every = 128});
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  auto test = DataCatalog::Default().Find(FashionMnistTestId());
  REQUIRE(test.ok());
  auto acc = TestAccuracy((*run)->model(), **test, *cpu);
  REQUIRE(acc.ok());
  MESSAGE("test accuracy ", *acc, ", model ", ToHex((*run)->commitment().output_hash), ", ",
          (*run)->timings().total_seconds, " s, commit fraction ",
          (*run)->timings().commit_seconds / (*run)->timings().total_seconds);
  CHECK(*acc >= 0.8833);
  // A sampled segment checks out against the commitment, with the real data set.
  auto o = (*run)->Open(256, *cpu);
  REQUIRE(o.ok());
  auto one = CreateBackend("cpu", {.threads = 1}).value();
  CHECK(CheckSegment(*o, (*run)->commitment(), *one).ok());
}
