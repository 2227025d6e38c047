// Shared fixtures of the job tests: the small Fashion-MNIST subsets of tests/data/workloads, a
// catalog that serves them (and nothing from the system), and small job specs.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "probity/workloads/workloads.h"
#include "test_data.h"

namespace test_data {

inline std::shared_ptr<const probity::workloads::Dataset> Train512() {
  static auto d = std::make_shared<const probity::workloads::Dataset>(
      probity::workloads::LoadIdxDataset(Path("fmnist512-train-images-idx3-ubyte"),
                                         Path("fmnist512-train-labels-idx1-ubyte"))
          .value());
  return d;
}

inline std::shared_ptr<const probity::workloads::Dataset> Test256() {
  static auto d = std::make_shared<const probity::workloads::Dataset>(
      probity::workloads::LoadIdxDataset(Path("fmnist256-test-images-idx3-ubyte"),
                                         Path("fmnist256-test-labels-idx1-ubyte"))
          .value());
  return d;
}

// Knows the fixtures only: Fashion-MNIST ids resolve to a directory that does not exist.
inline probity::workloads::DataCatalog& FixtureCatalog() {
  static auto* c = [] {
    auto* catalog = new probity::workloads::DataCatalog("/nonexistent/fashion-mnist");
    catalog->Add(Train512());
    catalog->Add(Test256());
    return catalog;
  }();
  return *c;
}

// A small training job on the 512-image fixture.
inline probity::workloads::JobSpec SmallTrainSpec(const std::string& arch = "mlp",
                                                  const std::string& optimizer = "adam") {
  std::string text = "kind = \"train-classifier\"\ndataset = \"" + probity::ToHex(Train512()->id) +
                     "\"\nexamples = 512\nbatch_size = 32\nseed = 11\n"
                     "architecture = \"" +
                     arch + "\"\naugment = \"" + (arch == "cnn" ? "mirror" : "none") + "\"\n";
  if (arch == "mlp") {
    text += "hidden = [32, 16]\nepochs = 2\nsteps_per_segment = 5\n";
  } else {
    text += "conv_channels = [4, 8]\nhidden = [16]\nepochs = 1\nsteps_per_segment = 3\n";
  }
  if (optimizer == "adam") {
    text +=
        "optimizer = \"adam\"\nlearning_rate = 0.002\nlearning_rate_decay = 0.9\nbeta1 = "
        "0.9\nbeta2 = 0.999\n"
        "epsilon = 1e-8\n";
  } else {
    text +=
        "optimizer = \"sgd-momentum\"\nlearning_rate = 0.05\nlearning_rate_decay = 1\nmomentum = "
        "0.9\n";
  }
  auto spec = probity::workloads::ParseJobSpec(text);
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  return *spec;
}

inline std::unique_ptr<probity::workloads::Backend> Cpu(int threads = 0) {
  auto b = probity::workloads::CreateBackend("cpu", {.threads = threads});
  REQUIRE_MESSAGE(b.ok(), b.status().ToString());
  return std::move(b).value();
}

}  // namespace test_data
