// `probity bench workloads [--json] [--quick] [--backend cpu|cuda] [--threads N]
//                          [--parts compute,mlp,cnn,cnn-train]
//                          [--pytorch-mlp-steps-per-second X]
//                          [--pytorch-cnn-steps-per-second X]`
//
// Records (suite "workloads"; JSON lines with --json, a table otherwise):
//   the compute library's records (compute_bench.h) for the chosen backend       [compute]
//   train_mlp_test_accuracy    the reference MLP (job_spec.h) trained on the backend, accuracy
//                              on the 10,000 test images; anchor 0.8833 ("MLP 256-128-100" of
//                              Fashion-MNIST's benchmark table)                   [mlp]
//   commit_overhead_fraction   time hashing states and building the trace / job time; target
//                              0.02                                               [mlp]
//   train_steps_per_second     of that run; with --pytorch-mlp-steps-per-second the PyTorch
//                              baseline (workloads/jobs/bench/pytorch_baseline.py) and ratio
//   segment_reexec_ms          re-execution of opened segments on one CPU thread: p50 (value)
//                              and max over the sample, each the median of 3 runs, in thread
//                              CPU time (wall_p50, wall_max too); bound 100
//   opening_bytes              largest opening of the sample; bound 4 MiB
//   (the last two for the MLP run [mlp], and for a short run of the reference CNN [cnn])
//   train_cnn_test_accuracy    the reference CNN trained on the backend; anchor 0.916 ("2
//                              Conv+pooling"); with its commit_overhead_fraction and
//                              train_steps_per_second (and the PyTorch baseline when given)
//                                                                              [cnn-train]
// Default parts: compute, mlp, cnn, and cnn-train with --backend cuda (on a CPU the CNN takes
// about half an hour of 2 cores; ask for it with --parts).
// --quick trains one epoch and samples fewer segments (records keep their names and say
// quick: true).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>
#include <vector>

#include "command.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/compute_bench.h"
#include "probity/workloads/workloads.h"

namespace probity::cli {
namespace {

using workloads::BenchRecord;

class Printer {
 public:
  explicit Printer(bool json) : json_(json) {
    if (!json_) std::printf("%-28s %14s  %-10s %s\n", "name", "value", "unit", "details");
  }
  void Emit(const BenchRecord& r) {
    if (json_) {
      std::ostringstream o;
      o << "{\"suite\":\"workloads\",\"name\":" << JsonString(r.name)
        << ",\"value\":" << Number(r.value) << ",\"unit\":" << JsonString(r.unit);
      for (const auto& [k, v] : r.numbers) o << "," << JsonString(k) << ":" << Number(v);
      for (const auto& [k, v] : r.strings) o << "," << JsonString(k) << ":" << JsonString(v);
      std::cout << o.str() << "}\n" << std::flush;
      return;
    }
    std::string details;
    for (const auto& [k, v] : r.numbers) details += k + "=" + Number(v) + " ";
    for (const auto& [k, v] : r.strings) details += k + "=" + v + " ";
    std::printf("%-28s %14s  %-10s %s\n", r.name.c_str(), Number(r.value).c_str(), r.unit.c_str(),
                details.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string Number(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
  }
  bool json_;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Options {
  bool quick = false;
  std::string backend = "cpu";
  int threads = 0;
  bool compute = true, mlp = true, cnn = true, cnn_train = false;
  double pytorch_mlp = 0, pytorch_cnn = 0;
};

Result<Options> ParseOptions(const Args& args) {
  PROBITY_RETURN_IF_ERROR(
      args.CheckKnown({"json", "quick", "backend", "threads", "parts",
                       "pytorch-mlp-steps-per-second", "pytorch-cnn-steps-per-second"}));
  Options o;
  o.quick = args.Has("quick");
  o.backend = args.GetOr("backend", "cpu");
  if (o.backend != "cpu" && o.backend != "cuda") {
    return Status::InvalidArgument("--backend must be cpu or cuda");
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t threads, args.GetU64("threads", 0));
  if (threads > 1024) return Status::OutOfRange("--threads above 1024");
  o.threads = static_cast<int>(threads);
  o.cnn_train = o.backend == "cuda";
  if (auto parts = args.Get("parts")) {
    o.compute = o.mlp = o.cnn = o.cnn_train = false;
    std::stringstream ss(*parts);
    std::string p;
    while (std::getline(ss, p, ',')) {
      if (p == "compute") {
        o.compute = true;
      } else if (p == "mlp") {
        o.mlp = true;
      } else if (p == "cnn") {
        o.cnn = true;
      } else if (p == "cnn-train") {
        o.cnn_train = true;
      } else {
        return Status::InvalidArgument("unknown part '" + p + "' (compute, mlp, cnn, cnn-train)");
      }
    }
  }
  for (auto [flag, out] : {std::pair{"pytorch-mlp-steps-per-second", &o.pytorch_mlp},
                           std::pair{"pytorch-cnn-steps-per-second", &o.pytorch_cnn}}) {
    if (auto v = args.Get(flag)) {
      char* end = nullptr;
      *out = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || !(*out > 0)) {
        return Status::InvalidArgument("--" + std::string(flag) + " must be a positive number");
      }
    }
  }
  return o;
}

// CPU time of the calling thread: the cost of work done on one core, whatever else the
// machine runs (wall time on a shared machine measures the scheduler).
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

// Opens a sample of segments of `run` (at checkpoints, so that opening replays nothing, plus
// segment 0 and the last), re-executes each three times on a one-thread cpu backend (whose ops
// run on the calling thread) and reports the p50 and max of the per-segment medians, in thread
// CPU time and in wall time, and the largest opening.
Status MeasureSegments(const workloads::JobRun& run, workloads::Backend& provider,
                       const std::string& job, uint64_t checkpoint_every, size_t samples,
                       const Options& opt, Printer& out) {
  PROBITY_ASSIGN_OR_RETURN(auto one, workloads::CreateBackend("cpu", {.threads = 1}));
  const uint64_t n = run.commitment().segment_count;
  std::vector<uint64_t> indices = {0};
  const uint64_t stride = std::max<uint64_t>(1, n / checkpoint_every / samples) * checkpoint_every;
  for (uint64_t i = checkpoint_every; i < n && indices.size() < samples; i += stride) {
    indices.push_back(i);
  }
  if (n > 1) indices.push_back(n - 1);
  std::vector<double> cpu_ms, wall_ms;
  size_t max_bytes = 0;
  double max_verify_ms = 0;
  for (uint64_t i : indices) {
    PROBITY_ASSIGN_OR_RETURN(workloads::Opening o, run.Open(i, provider));
    const Bytes wire = workloads::EncodeOpening(o);
    max_bytes = std::max(max_bytes, wire.size());
    const double v0 = ThreadCpuSeconds();
    PROBITY_ASSIGN_OR_RETURN(workloads::Opening decoded, workloads::DecodeOpening(wire));
    PROBITY_RETURN_IF_ERROR(workloads::VerifyOpening(decoded, run.commitment()));
    max_verify_ms = std::max(max_verify_ms, 1e3 * (ThreadCpuSeconds() - v0));
    std::vector<double> cpu, wall;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t = std::chrono::steady_clock::now();
      const double c0 = ThreadCpuSeconds();
      PROBITY_ASSIGN_OR_RETURN(Hash256 h, workloads::Reexecute(decoded, *one));
      cpu.push_back(1e3 * (ThreadCpuSeconds() - c0));
      wall.push_back(1e3 * Seconds(t));
      if (h != decoded.record.output_hash) {
        return Status::Internal("segment " + std::to_string(i) +
                                " did not re-execute to its "
                                "committed output");
      }
    }
    cpu_ms.push_back(Percentile(cpu, 0.5));
    wall_ms.push_back(Percentile(wall, 0.5));
  }
  const std::string quick = opt.quick ? "true" : "false";
  out.Emit(
      {.name = "segment_reexec_ms",
       .value = Percentile(cpu_ms, 0.5),
       .unit = "ms",
       .numbers = {{"p50", Percentile(cpu_ms, 0.5)},
                   {"max", Percentile(cpu_ms, 1.0)},
                   {"wall_p50", Percentile(wall_ms, 0.5)},
                   {"wall_max", Percentile(wall_ms, 1.0)},
                   {"bound", 100},
                   {"segments_sampled", static_cast<double>(cpu_ms.size())},
                   {"verify_ms_max", max_verify_ms},
                   {"threads", 1}},
       .strings = {
           {"job", job}, {"clock", "thread_cpu"}, {"backend", one->Describe()}, {"quick", quick}}});
  out.Emit({.name = "opening_bytes",
            .value = static_cast<double>(max_bytes),
            .unit = "bytes",
            .numbers = {{"bound", static_cast<double>(workloads::kMaxOpeningBytes)}},
            .strings = {{"job", job}, {"quick", quick}}});
  return Status::OK();
}

struct Trained {
  std::unique_ptr<workloads::JobRun> run;
  double accuracy = 0;
  double steps_per_second = 0;
};

Result<Trained> TrainAndTest(const workloads::JobSpec& spec, workloads::Backend& backend,
                             uint64_t checkpoint_every, bool progress) {
  // Load (and check) both data sets first, so that job time is training time.
  auto& catalog = workloads::DataCatalog::Default();
  PROBITY_RETURN_IF_ERROR(catalog.Find(spec.train.dataset).status());
  PROBITY_ASSIGN_OR_RETURN(auto test, catalog.Find(workloads::FashionMnistTestId()));
  workloads::RunOptions ro{.checkpoint_every = checkpoint_every};
  if (progress) {
    ro.progress = [](uint64_t done, uint64_t total) {
      if (done % 100 == 0 || done == total) {
        std::fprintf(stderr, "\rtraining: segment %llu/%llu", static_cast<unsigned long long>(done),
                     static_cast<unsigned long long>(total));
        if (done == total) std::fprintf(stderr, "\n");
      }
    };
  }
  Trained t;
  PROBITY_ASSIGN_OR_RETURN(t.run, workloads::RunJob(spec, {}, backend, ro));
  PROBITY_ASSIGN_OR_RETURN(t.accuracy, workloads::TestAccuracy(t.run->model(), *test, backend));
  t.steps_per_second =
      static_cast<double>(spec.train.total_steps()) / t.run->timings().total_seconds;
  return t;
}

Status RunMlp(workloads::Backend& backend, const Options& opt, bool progress, Printer& out) {
  workloads::JobSpec spec = workloads::ReferenceMlpSpec();
  if (opt.quick) spec.train.epochs = 1;
  constexpr uint64_t kCheckpointEvery = 32;
  PROBITY_ASSIGN_OR_RETURN(Trained t, TrainAndTest(spec, backend, kCheckpointEvery, progress));
  const auto& tm = t.run->timings();
  const std::string quick = opt.quick ? "true" : "false";
  const std::string be = backend.Describe();
  out.Emit({.name = "train_mlp_test_accuracy",
            .value = t.accuracy,
            .unit = "fraction",
            .numbers = {{"anchor", 0.8833},
                        {"epochs", static_cast<double>(spec.train.epochs)},
                        {"seconds", tm.total_seconds},
                        {"segments", static_cast<double>(t.run->commitment().segment_count)}},
            .strings = {{"backend", be},
                        {"model_id", ToHex(t.run->commitment().output_hash)},
                        {"quick", quick}}});
  out.Emit({.name = "commit_overhead_fraction",
            .value = tm.commit_seconds / tm.total_seconds,
            .unit = "fraction",
            .numbers = {{"target", 0.02},
                        {"commit_seconds", tm.commit_seconds},
                        {"job_seconds", tm.total_seconds},
                        {"checkpoint_seconds", tm.checkpoint_seconds}},
            .strings = {{"backend", be}, {"job", "mlp"}, {"quick", quick}}});
  BenchRecord steps{.name = "train_steps_per_second",
                    .value = t.steps_per_second,
                    .unit = "steps/s",
                    .numbers = {{"batch_size", static_cast<double>(spec.train.batch_size)}},
                    .strings = {{"backend", be}, {"job", "mlp"}, {"quick", quick}}};
  if (opt.pytorch_mlp > 0) {
    steps.numbers.push_back({"baseline", opt.pytorch_mlp});
    steps.numbers.push_back({"ratio", t.steps_per_second / opt.pytorch_mlp});
    steps.strings.push_back({"baseline_name", "pytorch"});
  }
  out.Emit(steps);
  return MeasureSegments(*t.run, backend, "mlp", kCheckpointEvery, opt.quick ? 4 : 16, opt, out);
}

// The reference CNN, trained in full: accuracy and training speed.
Status TrainCnn(workloads::Backend& backend, const Options& opt, bool progress, Printer& out) {
  const std::string quick = opt.quick ? "true" : "false";
  workloads::JobSpec spec = workloads::ReferenceCnnSpec();
  if (opt.quick) spec.train.epochs = 1;
  PROBITY_ASSIGN_OR_RETURN(Trained t, TrainAndTest(spec, backend, 256, progress));
  out.Emit({.name = "train_cnn_test_accuracy",
            .value = t.accuracy,
            .unit = "fraction",
            .numbers = {{"anchor", 0.916},
                        {"epochs", static_cast<double>(spec.train.epochs)},
                        {"seconds", t.run->timings().total_seconds}},
            .strings = {{"backend", backend.Describe()},
                        {"model_id", ToHex(t.run->commitment().output_hash)},
                        {"quick", quick}}});
  const auto& tm = t.run->timings();
  out.Emit({.name = "commit_overhead_fraction",
            .value = tm.commit_seconds / tm.total_seconds,
            .unit = "fraction",
            .numbers = {{"target", 0.02},
                        {"commit_seconds", tm.commit_seconds},
                        {"job_seconds", tm.total_seconds}},
            .strings = {{"backend", backend.Describe()}, {"job", "cnn"}, {"quick", quick}}});
  BenchRecord steps{.name = "train_steps_per_second",
                    .value = t.steps_per_second,
                    .unit = "steps/s",
                    .numbers = {{"batch_size", static_cast<double>(spec.train.batch_size)}},
                    .strings = {{"backend", backend.Describe()}, {"job", "cnn"}, {"quick", quick}}};
  if (opt.pytorch_cnn > 0) {
    steps.numbers.push_back({"baseline", opt.pytorch_cnn});
    steps.numbers.push_back({"ratio", t.steps_per_second / opt.pytorch_cnn});
    steps.strings.push_back({"baseline_name", "pytorch"});
  }
  out.Emit(steps);
  return Status::OK();
}

// The reference CNN's segments: a short run on the first examples gives segments of the size
// the bounds are about.
Status MeasureCnnSegments(workloads::Backend& backend, const Options& opt, Printer& out) {
  workloads::JobSpec spec = workloads::ReferenceCnnSpec();
  spec.train.examples = spec.train.batch_size * spec.train.steps_per_segment * 16;
  spec.train.epochs = 1;
  PROBITY_ASSIGN_OR_RETURN(Trained t, TrainAndTest(spec, backend, 1, false));
  return MeasureSegments(*t.run, backend, "cnn", 1, opt.quick ? 4 : 8, opt, out);
}

int RunWorkloadsBench(const Args& args) {
  auto parsed = ParseOptions(args);
  if (!parsed.ok()) return Fail(args, parsed.status());
  const Options& opt = *parsed;
  Printer out(args.json());
  auto backend = workloads::CreateBackend(opt.backend, {.threads = opt.threads});
  if (!backend.ok()) return Fail(args, backend.status());
  if (opt.compute) {
    workloads::ComputeBenchOptions co{.quick = opt.quick};
    if (opt.quick) co.min_seconds_per_measurement = 0.1;
    Status s =
        workloads::RunComputeBench(**backend, co, [&out](const BenchRecord& r) { out.Emit(r); });
    if (!s.ok()) return Fail(args, s);
  }
  const bool progress = !args.json();
  if (opt.mlp) {
    Status s = RunMlp(**backend, opt, progress, out);
    if (!s.ok()) return Fail(args, s.WithContext("mlp"));
  }
  if (opt.cnn) {
    Status s = MeasureCnnSegments(**backend, opt, out);
    if (!s.ok()) return Fail(args, s.WithContext("cnn"));
  }
  if (opt.cnn_train) {
    Status s = TrainCnn(**backend, opt, progress, out);
    if (!s.ok()) return Fail(args, s.WithContext("cnn-train"));
  }
  return 0;
}

}  // namespace

PROBITY_BENCH_SUITE({.name = "workloads",
                     .summary = "compute kernels, Fashion-MNIST training accuracy, commit "
                                "overhead, segment re-execution (--backend cpu|cuda, --quick)",
                     .run = RunWorkloadsBench});

}  // namespace probity::cli
