// Calibration: how many units of work (workloads::JobUnits) one job slot computes per hour on
// this machine, measured by running a real small training job (an MLP on a synthetic
// Fashion-MNIST-shaped data set, so no file is needed) on the backend the jobs will use, and
// advertised as Hardware.throughput. The figure is per job, as a buyer's order experiences it
// (an order's min_throughput constraint compares with it), not summed over the capacity.
//
// A measurement takes about `budget_seconds` (a warm-up, then runs doubling in length until a
// quarter of the budget is spent by one run). The journal caches it under CalibrationKey, so a
// restart on the same hardware is quick.
//
// Thread-safety: pure functions (each call uses its own backend).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"

namespace probity::provider {

struct CalibrationResult {
  uint64_t units_per_hour = 0;
  uint64_t units = 0;  // of the measured run
  double seconds = 0;  // of the measured run
};

// REQUIRES: budget_seconds > 0. `backend` is the one a job would get.
Result<CalibrationResult> Calibrate(workloads::Backend& backend, double budget_seconds);

// What the cached figure depends on: the backend, the machine and the threads of one job.
std::string CalibrationKey(const std::string& backend, const std::string& machine,
                           int threads_per_job);

}  // namespace probity::provider
