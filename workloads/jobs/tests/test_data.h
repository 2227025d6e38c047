// Paths of the workload fixtures under tests/data/workloads, and the fixture data sets.
#pragma once

#include <string>

#include "probity/primitives/hex.h"

namespace test_data {
inline std::string Path(const std::string& name) {
  return std::string(PROBITY_TEST_DATA_DIR) + "/workloads/" + name;
}
}  // namespace test_data
