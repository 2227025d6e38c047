// Job requests from the command line, JSON views and the lifecycle progress bar (job_cli.h).
#include "job_cli.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/verifierd/verifierd.h"
#include "probity/workloads/backend.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/model.h"
#include "probity/workloads/workloads.h"

namespace probity::cli {

std::vector<std::string> SpecFlags() {
  return {"spec",
          "kind",
          "dataset",
          "examples",
          "architecture",
          "hidden",
          "conv-channels",
          "optimizer",
          "learning-rate",
          "epochs",
          "batch-size",
          "seed",
          "steps-per-segment",
          "model",
          "images",
          "count",
          "slice-size",
          "max-price",
          "verify",
          "self-verify",
          "deadline-blocks",
          "label",
          "wait",
          "timeout"};
}

Result<workloads::Tensor> LoadImages(const std::string& path, uint64_t count) {
  PROBITY_ASSIGN_OR_RETURN(Bytes bytes, workloads::ReadMaybeGzipFile(path));
  workloads::Tensor all;
  if (auto idx = workloads::ParseIdx(bytes); idx.ok()) {
    if (idx->dims.size() != 3 || idx->dims[1] != 28 || idx->dims[2] != 28) {
      return Status::InvalidArgument(path + " holds IDX data that is not [n, 28, 28] images");
    }
    PROBITY_ASSIGN_OR_RETURN(
        all, workloads::Tensor::Zeros(workloads::DType::kU8,
                                      {int64_t{idx->dims[0]}, int64_t{28}, int64_t{28}}));
    std::copy(idx->data.begin(), idx->data.end(), all.mutable_bytes().data());
  } else {
    auto t = workloads::DecodeTensor(bytes);
    if (!t.ok()) {
      return Status::InvalidArgument(path + " is neither an IDX image file (" +
                                     idx.status().message() + ") nor a tensor file (" +
                                     t.status().message() + ")");
    }
    all = std::move(*t);
  }
  if (all.dtype() != workloads::DType::kU8 || all.rank() != 3 || all.shape()[1] != 28 ||
      all.shape()[2] != 28) {
    return Status::InvalidArgument(path + " does not hold u8 [n, 28, 28] images");
  }
  if (count == 0 || count >= static_cast<uint64_t>(all.shape()[0])) return all;
  PROBITY_ASSIGN_OR_RETURN(
      workloads::Tensor first,
      workloads::Tensor::Zeros(workloads::DType::kU8,
                               {static_cast<int64_t>(count), int64_t{28}, int64_t{28}}));
  std::copy_n(all.bytes().data(), first.byte_size(), first.mutable_bytes().data());
  return first;
}

Result<buyer::JobRequest> InferRequest(const Bytes& model_file, const workloads::Tensor& images,
                                       uint32_t slice_size) {
  auto model = workloads::DecodeSafetensors(model_file);
  if (!model.ok()) return Status::InvalidArgument("the model: " + model.status().message());
  PROBITY_ASSIGN_OR_RETURN(workloads::ClassifierArch arch, workloads::ArchitectureOf(*model));
  if (slice_size == 0) slice_size = std::min<uint32_t>(1000, workloads::MaxInferSliceSize(arch));
  if (slice_size == 0) return Status::InvalidArgument("the model is too large for one slice");
  buyer::JobRequest r;
  r.spec.kind = workloads::JobKind::kInferClassifier;
  r.spec.infer.model = workloads::ModelId(*model);
  r.spec.infer.count = static_cast<uint32_t>(images.shape()[0]);
  r.spec.infer.slice_size = slice_size;
  PROBITY_ASSIGN_OR_RETURN(r.spec.infer.images, workloads::ImagesRoot(images, slice_size));
  r.model_file = model_file;
  r.images_blob = workloads::EncodeTensor(images);
  return r;
}

namespace {

Result<workloads::JobSpec> TrainSpecFromFlags(const Args& args) {
  auto get = [&](const char* flag, const char* dflt) { return args.GetOr(flag, dflt); };
  const std::string arch = get("architecture", "mlp");
  const std::string opt = get("optimizer", "adam");
  std::string text = "kind = \"train-classifier\"\n";
  text += "dataset = \"" + get("dataset", "fashion-mnist-train") + "\"\n";
  text += "examples = " + get("examples", "60000") + "\n";
  text += "architecture = \"" + arch + "\"\n";
  text += "hidden = [" + get("hidden", arch == "cnn" ? "128" : "256,128,100") + "]\n";
  if (arch == "cnn") text += "conv_channels = [" + get("conv-channels", "16,32") + "]\n";
  text += "optimizer = \"" + opt + "\"\n";
  text += "learning_rate = " + get("learning-rate", opt == "adam" ? "0.001" : "0.05") + "\n";
  text += "learning_rate_decay = 0.8\n";
  if (opt == "adam") {
    text += "beta1 = 0.9\nbeta2 = 0.999\nepsilon = 1e-8\n";
  } else {
    text += "momentum = 0.9\n";
  }
  text += "batch_size = " + get("batch-size", arch == "cnn" ? "32" : "64") + "\n";
  text += "epochs = " + get("epochs", "2") + "\n";
  text += "seed = " + get("seed", "1") + "\n";
  text += "augment = \"none\"\n";
  auto probe = workloads::ParseJobSpec(text + "steps_per_segment = 1\n");
  if (!probe.ok()) return probe.status();
  std::string steps = get("steps-per-segment", "");
  if (steps.empty()) steps = std::to_string(workloads::MaxStepsPerSegment(probe->train));
  return workloads::ParseJobSpec(text + "steps_per_segment = " + steps + "\n");
}

}  // namespace

Result<buyer::JobRequest> RequestFromArgs(const Args& args) {
  buyer::JobRequest r;
  if (args.Has("spec") == args.Has("kind")) {
    return Status::InvalidArgument("give the job as --spec FILE or as --kind KIND with flags");
  }
  const std::string kind = args.Has("kind") ? args.GetOr("kind", "") : std::string("from-file");
  std::optional<workloads::JobSpec> spec;
  if (args.Has("spec")) {
    PROBITY_ASSIGN_OR_RETURN(std::string text, ledger::ReadFileToString(*args.Get("spec")));
    PROBITY_ASSIGN_OR_RETURN(spec, workloads::ParseJobSpec(text));
  } else if (kind == "train-classifier") {
    PROBITY_ASSIGN_OR_RETURN(spec, TrainSpecFromFlags(args));
  } else if (kind != "infer-classifier") {
    return Status::InvalidArgument("--kind must be train-classifier or infer-classifier, not '" +
                                   kind + "'");
  }
  const bool infer =
      (spec && spec->kind == workloads::JobKind::kInferClassifier) || kind == "infer-classifier";
  if (infer) {
    PROBITY_ASSIGN_OR_RETURN(std::string model_path, args.Require("model"));
    PROBITY_ASSIGN_OR_RETURN(std::string images_path, args.Require("images"));
    PROBITY_ASSIGN_OR_RETURN(std::string model_text, ledger::ReadFileToString(model_path));
    Bytes model(model_text.begin(), model_text.end());
    PROBITY_ASSIGN_OR_RETURN(uint64_t count, args.GetU64("count", spec ? spec->infer.count : 0));
    PROBITY_ASSIGN_OR_RETURN(workloads::Tensor images, LoadImages(images_path, count));
    PROBITY_ASSIGN_OR_RETURN(uint64_t slice,
                             args.GetU64("slice-size", spec ? spec->infer.slice_size : 0));
    PROBITY_ASSIGN_OR_RETURN(r, InferRequest(model, images, static_cast<uint32_t>(slice)));
    if (spec && !(spec->infer == r.spec.infer)) {
      return Status::InvalidArgument(
          "the spec file names another model or other images than --model and --images");
    }
    r.label = "infer " + std::to_string(r.spec.infer.count) + " images";
  } else {
    r.spec = *spec;
    r.label = "train " + std::string(workloads::ArchitectureName(r.spec.train.architecture)) +
              ", " + std::to_string(r.spec.train.epochs) + " epochs";
  }
  PROBITY_ASSIGN_OR_RETURN(std::string price, args.Require("max-price"));
  PROBITY_ASSIGN_OR_RETURN(r.max_price_per_unit, args.GetU64("max-price", 0));
  if (r.max_price_per_unit == 0) return Status::InvalidArgument("--max-price must be positive");
  PROBITY_ASSIGN_OR_RETURN(uint64_t k, args.GetU64("verify", 0));
  r.verification_level = static_cast<uint32_t>(k);
  r.self_verify = args.Has("self-verify");
  PROBITY_ASSIGN_OR_RETURN(r.deadline_blocks, args.GetU64("deadline-blocks", 0));
  if (auto label = args.Get("label")) r.label = *label;
  return r;
}

void InstallSelfVerifier(buyer::Buyer& b) {
  // One cpu backend for the process's self-verifications (a Buyer is used by one thread).
  auto created = workloads::CreateBackend("cpu", {});
  std::shared_ptr<workloads::Backend> backend;
  if (created.ok()) backend = std::move(*created);
  buyer::Buyer* buyer = &b;
  b.set_self_verifier([buyer, backend](const jobs::v1::Job& job) -> Result<jobs::v1::MsgAttest> {
    if (!backend) return Status::Unavailable("no cpu backend");
    verifierd::FetchPolicy fetch;
    fetch.max_wait = std::chrono::seconds(20);
    verifierd::Reexecutor re;
    re.backend = backend.get();
    re.catalog = &workloads::DataCatalog::Default();
    return verifierd::AttestSampledJob(buyer->chain(), buyer->key(), job, fetch, re);
  });
}

XOnlyPubKey ToKey(const std::string& b) {
  XOnlyPubKey k{};
  if (b.size() == 32) std::copy(b.begin(), b.end(), k.begin());
  return k;
}
Hash256 ToHash(const std::string& b) { return ToKey(b); }

std::string JobViewJson(const buyer::JobView& v) {
  std::string s =
      "{\"ok\":true,\"id\":" + JsonString(ToHex(v.job_id)) + ",\"state\":" + JsonString(v.state) +
      ",\"terminal\":" + (v.terminal ? "true" : "false") + ",\"note\":" + JsonString(v.note) +
      ",\"units\":" + std::to_string(v.order.units()) +
      ",\"escrow\":" + std::to_string(v.order.escrow());
  if (v.job) {
    const auto& j = *v.job;
    s +=
        ",\"provider\":" + JsonString(EncodeAddress(ToKey(j.provider()))) +
        ",\"price_per_unit\":" + std::to_string(j.price_per_unit()) +
        ",\"segments\":" + std::to_string(j.segment_count()) +
        ",\"sampled\":" + std::to_string(j.sample_size()) +
        ",\"attested\":" + (j.attested() ? "true" : "false") + ",\"verifier\":" +
        JsonString(j.verifier().size() == 32 ? EncodeAddress(ToKey(j.verifier())) : std::string()) +
        ",\"output_hash\":" + JsonString(ToHex(AsBytes(j.output_hash())));
  }
  return s + "}";
}

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::Show(const buyer::JobView& v) {
  if (!enabled_) return;
  static const std::vector<std::string> kSteps = {"open",    "assigned", "committed",
                                                  "sampled", "verified", "settled"};
  auto at = std::find(kSteps.begin(), kSteps.end(), v.state);
  std::string line;
  for (size_t i = 0; i < kSteps.size(); ++i) {
    bool done = at != kSteps.end() && static_cast<size_t>(at - kSteps.begin()) > i;
    bool now = at != kSteps.end() && static_cast<size_t>(at - kSteps.begin()) == i;
    line += (done  ? "[x] "
             : now ? "[>] "
                   : "[ ] ") +
            kSteps[i] + (i + 1 < kSteps.size() ? "  " : "");
  }
  if (at == kSteps.end()) line = "[!] " + v.state;
  if (!v.note.empty()) line += "  — " + v.note;
  if (tty_) {
    std::cerr << "\r\033[K" << line << std::flush;
  } else {
    std::cerr << line << "\n";
  }
  drawn_ = true;
}

void ProgressBar::Done() {
  if (enabled_ && tty_ && drawn_) std::cerr << "\n";
}

}  // namespace probity::cli
