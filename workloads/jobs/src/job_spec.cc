#include "probity/workloads/job_spec.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/backend.h"
#include "probity/workloads/dataset.h"

namespace probity::workloads {

std::string_view JobKindName(JobKind kind) {
  switch (kind) {
    case JobKind::kTrainClassifier:
      return "train-classifier";
    case JobKind::kInferClassifier:
      return "infer-classifier";
  }
  return "?";
}
std::string_view ArchitectureName(Architecture arch) {
  switch (arch) {
    case Architecture::kMlp:
      return "mlp";
    case Architecture::kCnn:
      return "cnn";
  }
  return "?";
}
std::string_view OptimizerName(OptimizerKind opt) {
  switch (opt) {
    case OptimizerKind::kSgdMomentum:
      return "sgd-momentum";
    case OptimizerKind::kAdam:
      return "adam";
  }
  return "?";
}

namespace {

constexpr uint8_t kSpecVersion = 1;
constexpr std::string_view kSpecMagic = "PRBJ";

bool SameBits(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

// ---- cost model -------------------------------------------------------------------------------

struct LayerDims {
  uint64_t in, out;
};

// Fully connected layers of the classifier head (after the convolutions for a cnn).
std::vector<LayerDims> DenseLayers(const TrainSpec& s) {
  uint64_t in = s.architecture == Architecture::kCnn && s.conv_channels.size() == 2
                    ? uint64_t{s.conv_channels[1]} * (kImageRows / 4) * (kImageCols / 4)
                    : uint64_t{kImageRows} * kImageCols;
  std::vector<LayerDims> v;
  for (uint32_t h : s.hidden) {
    v.push_back({in, h});
    in = h;
  }
  v.push_back({in, kNumClasses});
  return v;
}

uint64_t ParamCount(const TrainSpec& s) {
  uint64_t n = 0;
  for (const LayerDims& l : DenseLayers(s)) n += l.in * l.out + l.out;
  if (s.architecture == Architecture::kCnn && s.conv_channels.size() == 2) {
    uint64_t c0 = s.conv_channels[0], c1 = s.conv_channels[1];
    n += c0 * 1 * 25 + c0 + c1 * c0 * 25 + c1;
  }
  return n;
}

uint64_t OptimizerSlots(const TrainSpec& s) { return s.optimizer == OptimizerKind::kAdam ? 2 : 1; }

// ---- text -------------------------------------------------------------------------------------

struct RawValue {
  size_t line;
  std::string text;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Status LineError(size_t line, const std::string& msg) {
  return Status::InvalidArgument("job spec line " + std::to_string(line) + ": " + msg);
}

// Consumes keys from the parsed text, typed; remembers which were used.
class Fields {
 public:
  std::map<std::string, RawValue> raw;
  std::set<std::string> used;

  bool Has(const std::string& key) const { return raw.count(key) > 0; }

  Result<const RawValue*> Get(const std::string& key) {
    auto it = raw.find(key);
    if (it == raw.end()) return Status::InvalidArgument("job spec: missing key '" + key + "'");
    used.insert(key);
    return &it->second;
  }

  Result<std::string> String(const std::string& key) {
    PROBITY_ASSIGN_OR_RETURN(const RawValue* v, Get(key));
    const std::string& t = v->text;
    if (t.size() < 2 || t.front() != '"' || t.back() != '"' || t.find('"', 1) != t.size() - 1) {
      return LineError(v->line, "'" + key + "' must be a double-quoted string");
    }
    return t.substr(1, t.size() - 2);
  }

  Result<uint64_t> Unsigned(const std::string& key, uint64_t lo, uint64_t hi) {
    PROBITY_ASSIGN_OR_RETURN(const RawValue* v, Get(key));
    return ParseUnsigned(v->text, v->line, key, lo, hi);
  }

  Result<float> Float(const std::string& key, float lo, float hi, bool lo_open, bool hi_open) {
    PROBITY_ASSIGN_OR_RETURN(const RawValue* v, Get(key));
    const std::string& t = v->text;
    float f = 0;
    bool ok = !t.empty() && (std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.');
    if (ok) {
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), f, std::chars_format::general);
      ok = ec == std::errc() && p == t.data() + t.size();
      if (ec == std::errc::result_out_of_range) {
        return Status::OutOfRange("job spec line " + std::to_string(v->line) + ": '" + key +
                                  "' = " + t + " is not representable as a 32-bit float");
      }
    }
    if (!ok) return LineError(v->line, "'" + key + "' must be a decimal number, got " + t);
    bool in = std::isfinite(f) && (lo_open ? f > lo : f >= lo) && (hi_open ? f < hi : f <= hi);
    if (!in) {
      std::string range = std::string(lo_open ? "(" : "[") + FloatText(lo) + ", " + FloatText(hi) +
                          (hi_open ? ")" : "]");
      return Status::OutOfRange("job spec line " + std::to_string(v->line) + ": '" + key +
                                "' = " + t + " is outside " + range);
    }
    return f;
  }

  Result<std::vector<uint32_t>> List(const std::string& key, size_t max_len, uint32_t lo,
                                     uint32_t hi) {
    PROBITY_ASSIGN_OR_RETURN(const RawValue* v, Get(key));
    std::string_view t = v->text;
    if (t.size() < 2 || t.front() != '[' || t.back() != ']') {
      return LineError(v->line, "'" + key + "' must be a list of integers like [256, 128]");
    }
    std::vector<uint32_t> out;
    std::string_view body = Trim(t.substr(1, t.size() - 2));
    while (!body.empty()) {
      size_t comma = body.find(',');
      std::string_view item = Trim(body.substr(0, comma));
      PROBITY_ASSIGN_OR_RETURN(uint64_t n, ParseUnsigned(std::string(item), v->line, key, lo, hi));
      out.push_back(static_cast<uint32_t>(n));
      if (comma == std::string_view::npos) break;
      body = Trim(body.substr(comma + 1));
      if (body.empty()) return LineError(v->line, "'" + key + "' has a trailing comma");
    }
    if (out.size() > max_len) {
      return Status::OutOfRange("job spec line " + std::to_string(v->line) + ": '" + key +
                                "' has " + std::to_string(out.size()) + " entries, at most " +
                                std::to_string(max_len));
    }
    return out;
  }

  Result<Hash256> HashValue(const std::string& key) {
    PROBITY_ASSIGN_OR_RETURN(std::string s, String(key));
    auto h = Hash256FromHex(s);
    if (!h.ok() || s.size() != 64) {
      return LineError(raw[key].line, "'" + key + "' must be 64 hex digits");
    }
    return *h;
  }

  // The first key present but never consumed: unknown or not applicable to this job.
  Status CheckAllUsed(std::string_view context) const {
    for (const auto& [k, v] : raw) {
      if (!used.count(k)) {
        return LineError(v.line, "unknown key '" + k + "' for " + std::string(context));
      }
    }
    return Status::OK();
  }

  static std::string FloatText(float f) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, f);
    return std::string(buf, r.ptr);
  }

 private:
  static Result<uint64_t> ParseUnsigned(const std::string& t, size_t line, const std::string& key,
                                        uint64_t lo, uint64_t hi) {
    uint64_t n = 0;
    bool digits = !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    if (!digits || ec == std::errc::result_out_of_range) {
      if (digits) {
        return Status::OutOfRange("job spec line " + std::to_string(line) + ": '" + key +
                                  "' = " + t + " does not fit in 64 bits");
      }
      return LineError(line, "'" + key + "' must be an unsigned decimal integer, got " + t);
    }
    (void)p;
    if (n < lo || n > hi) {
      return Status::OutOfRange("job spec line " + std::to_string(line) + ": '" + key + "' = " + t +
                                " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                "]");
    }
    return n;
  }
};

Result<Fields> Tokenise(std::string_view text) {
  Fields f;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    // A '#' outside a string starts a comment.
    bool in_string = false;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '"') in_string = !in_string;
      if (line[i] == '#' && !in_string) {
        line = line.substr(0, i);
        break;
      }
    }
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t' && c != '\r') || u >= 0x7f) {
        return LineError(line_no, "control or non-ASCII character in the text");
      }
    }
    line = Trim(line);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return LineError(line_no, "expected 'key = value'");
    std::string key(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (key.empty() ||
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return LineError(line_no, "bad key '" + key + "' (lowercase letters, digits, '_')");
    }
    if (value.empty()) return LineError(line_no, "'" + key + "' has no value");
    if (f.raw.count(key)) return LineError(line_no, "'" + key + "' given twice");
    f.raw[key] = RawValue{line_no, value};
  }
  return f;
}

Result<Hash256> DatasetFromText(Fields& f) {
  PROBITY_ASSIGN_OR_RETURN(std::string s, f.String("dataset"));
  if (s == "fashion-mnist-train") return FashionMnistTrainId();
  if (s == "fashion-mnist-test") return FashionMnistTestId();
  auto h = Hash256FromHex(s);
  if (!h.ok() || s.size() != 64) {
    return LineError(f.raw["dataset"].line,
                     "'dataset' must be 64 hex digits, \"fashion-mnist-train\" or "
                     "\"fashion-mnist-test\"");
  }
  return *h;
}

Result<TrainSpec> TrainFromText(Fields& f) {
  TrainSpec s;
  PROBITY_ASSIGN_OR_RETURN(s.dataset, DatasetFromText(f));
  PROBITY_ASSIGN_OR_RETURN(uint64_t examples, f.Unsigned("examples", 1, kMaxExamples));
  s.examples = static_cast<uint32_t>(examples);
  PROBITY_ASSIGN_OR_RETURN(std::string arch, f.String("architecture"));
  if (arch == "mlp") {
    s.architecture = Architecture::kMlp;
  } else if (arch == "cnn") {
    s.architecture = Architecture::kCnn;
  } else {
    return LineError(f.raw["architecture"].line,
                     "architecture must be \"mlp\" or \"cnn\", got \"" + arch + "\"");
  }
  const bool cnn = s.architecture == Architecture::kCnn;
  PROBITY_ASSIGN_OR_RETURN(s.hidden,
                           f.List("hidden", cnn ? 2 : kMaxHiddenLayers, 1, kMaxLayerWidth));
  if (cnn) {
    PROBITY_ASSIGN_OR_RETURN(s.conv_channels, f.List("conv_channels", 2, 1, kMaxConvChannels));
    if (s.conv_channels.size() != 2) {
      return LineError(f.raw["conv_channels"].line, "'conv_channels' must have 2 entries");
    }
  }
  PROBITY_ASSIGN_OR_RETURN(std::string opt, f.String("optimizer"));
  if (opt == "sgd-momentum") {
    s.optimizer = OptimizerKind::kSgdMomentum;
  } else if (opt == "adam") {
    s.optimizer = OptimizerKind::kAdam;
  } else {
    return LineError(f.raw["optimizer"].line,
                     "optimizer must be \"sgd-momentum\" or \"adam\", got \"" + opt + "\"");
  }
  PROBITY_ASSIGN_OR_RETURN(s.learning_rate, f.Float("learning_rate", 0, 10, true, false));
  PROBITY_ASSIGN_OR_RETURN(s.learning_rate_decay,
                           f.Float("learning_rate_decay", 0, 1, true, false));
  if (s.optimizer == OptimizerKind::kSgdMomentum) {
    PROBITY_ASSIGN_OR_RETURN(s.momentum, f.Float("momentum", 0, 1, false, true));
  } else {
    PROBITY_ASSIGN_OR_RETURN(s.beta1, f.Float("beta1", 0, 1, false, true));
    PROBITY_ASSIGN_OR_RETURN(s.beta2, f.Float("beta2", 0, 1, false, true));
    PROBITY_ASSIGN_OR_RETURN(s.epsilon, f.Float("epsilon", 0, 1, true, false));
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t batch, f.Unsigned("batch_size", 1, kMaxBatchSize));
  s.batch_size = static_cast<uint32_t>(batch);
  PROBITY_ASSIGN_OR_RETURN(uint64_t epochs, f.Unsigned("epochs", 1, kMaxEpochs));
  s.epochs = static_cast<uint32_t>(epochs);
  PROBITY_ASSIGN_OR_RETURN(s.seed, f.Unsigned("seed", 0, UINT64_MAX));
  PROBITY_ASSIGN_OR_RETURN(uint64_t sps, f.Unsigned("steps_per_segment", 1, UINT32_MAX));
  s.steps_per_segment = static_cast<uint32_t>(sps);
  PROBITY_ASSIGN_OR_RETURN(std::string augment, f.String("augment"));
  if (augment == "none") {
    s.augment = Augmentation::kNone;
  } else if (augment == "mirror") {
    s.augment = Augmentation::kMirror;
  } else {
    return LineError(f.raw["augment"].line,
                     "augment must be \"none\" or \"mirror\", got \"" + augment + "\"");
  }
  std::string context =
      "train-classifier with architecture \"" + arch + "\" and optimizer \"" + opt + "\"";
  PROBITY_RETURN_IF_ERROR(f.CheckAllUsed(context));
  return s;
}

Result<InferSpec> InferFromText(Fields& f) {
  InferSpec s;
  PROBITY_ASSIGN_OR_RETURN(s.model, f.HashValue("model"));
  PROBITY_ASSIGN_OR_RETURN(s.images, f.HashValue("images"));
  PROBITY_ASSIGN_OR_RETURN(uint64_t count, f.Unsigned("count", 1, kMaxInferImages));
  s.count = static_cast<uint32_t>(count);
  PROBITY_ASSIGN_OR_RETURN(uint64_t slice, f.Unsigned("slice_size", 1, kMaxInferImages));
  s.slice_size = static_cast<uint32_t>(slice);
  PROBITY_RETURN_IF_ERROR(f.CheckAllUsed("infer-classifier"));
  return s;
}

std::string ListText(const std::vector<uint32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

Status CheckList(const std::vector<uint32_t>& v, size_t max_len, uint32_t hi, const char* what) {
  if (v.size() > max_len) {
    return Status::OutOfRange(std::string(what) + " has " + std::to_string(v.size()) +
                              " entries, at most " + std::to_string(max_len));
  }
  for (uint32_t x : v) {
    if (x < 1 || x > hi) {
      return Status::OutOfRange(std::string(what) + " entry " + std::to_string(x) +
                                " is outside [1, " + std::to_string(hi) + "]");
    }
  }
  return Status::OK();
}

Status CheckFloat(float f, float lo, float hi, bool lo_open, bool hi_open, const char* what) {
  bool in = std::isfinite(f) && (lo_open ? f > lo : f >= lo) && (hi_open ? f < hi : f <= hi);
  if (!in) return Status::OutOfRange(std::string(what) + " is out of range");
  return Status::OK();
}

Status ValidateTrain(const TrainSpec& s) {
  if (s.architecture != Architecture::kMlp && s.architecture != Architecture::kCnn) {
    return Status::InvalidArgument("unknown architecture");
  }
  if (s.optimizer != OptimizerKind::kSgdMomentum && s.optimizer != OptimizerKind::kAdam) {
    return Status::InvalidArgument("unknown optimizer");
  }
  const bool cnn = s.architecture == Architecture::kCnn;
  if (s.examples < 1 || s.examples > kMaxExamples) {
    return Status::OutOfRange("examples is outside [1, " + std::to_string(kMaxExamples) + "]");
  }
  PROBITY_RETURN_IF_ERROR(
      CheckList(s.hidden, cnn ? 2 : kMaxHiddenLayers, kMaxLayerWidth, "hidden"));
  if (cnn) {
    if (s.conv_channels.size() != 2) {
      return Status::InvalidArgument("conv_channels must have 2 entries for a cnn");
    }
    PROBITY_RETURN_IF_ERROR(CheckList(s.conv_channels, 2, kMaxConvChannels, "conv_channels"));
  } else if (!s.conv_channels.empty()) {
    return Status::InvalidArgument("conv_channels does not apply to an mlp");
  }
  PROBITY_RETURN_IF_ERROR(CheckFloat(s.learning_rate, 0, 10, true, false, "learning_rate"));
  PROBITY_RETURN_IF_ERROR(
      CheckFloat(s.learning_rate_decay, 0, 1, true, false, "learning_rate_decay"));
  if (s.optimizer == OptimizerKind::kSgdMomentum) {
    PROBITY_RETURN_IF_ERROR(CheckFloat(s.momentum, 0, 1, false, true, "momentum"));
    if (!SameBits(s.beta1, 0) || !SameBits(s.beta2, 0) || !SameBits(s.epsilon, 0)) {
      return Status::InvalidArgument("beta1, beta2 and epsilon do not apply to sgd-momentum");
    }
  } else {
    PROBITY_RETURN_IF_ERROR(CheckFloat(s.beta1, 0, 1, false, true, "beta1"));
    PROBITY_RETURN_IF_ERROR(CheckFloat(s.beta2, 0, 1, false, true, "beta2"));
    PROBITY_RETURN_IF_ERROR(CheckFloat(s.epsilon, 0, 1, true, false, "epsilon"));
    if (!SameBits(s.momentum, 0)) {
      return Status::InvalidArgument("momentum does not apply to adam");
    }
  }
  if (s.batch_size < 1 || s.batch_size > kMaxBatchSize) {
    return Status::OutOfRange("batch_size is outside [1, " + std::to_string(kMaxBatchSize) + "]");
  }
  if (s.examples < s.batch_size) {
    return Status::OutOfRange("examples (" + std::to_string(s.examples) +
                              ") must be at least batch_size (" + std::to_string(s.batch_size) +
                              ")");
  }
  if (s.epochs < 1 || s.epochs > kMaxEpochs) {
    return Status::OutOfRange("epochs is outside [1, " + std::to_string(kMaxEpochs) + "]");
  }
  if (s.steps_per_segment < 1) return Status::OutOfRange("steps_per_segment must be at least 1");
  if (s.augment != Augmentation::kNone && s.augment != Augmentation::kMirror) {
    return Status::InvalidArgument("unknown augmentation");
  }
  const uint64_t state = TrainStateBytes(s);
  if (state > kMaxStateBytes) {
    return Status::OutOfRange("the model and optimiser state take " + std::to_string(state) +
                              " bytes, above the " + std::to_string(kMaxStateBytes) +
                              " an opening may carry: use fewer or narrower layers");
  }
  const uint64_t step = TrainStepCost(s);
  if (step > kMaxSegmentCost) {
    return Status::OutOfRange("one training step costs " + std::to_string(step) +
                              " cost units, above the segment bound of " +
                              std::to_string(kMaxSegmentCost) +
                              ": use a smaller batch_size or model");
  }
  const uint32_t max_steps = MaxStepsPerSegment(s);
  if (s.steps_per_segment > max_steps) {
    return Status::OutOfRange("steps_per_segment = " + std::to_string(s.steps_per_segment) +
                              " exceeds " + std::to_string(max_steps) +
                              ", the most that re-execute within the segment bound (" +
                              std::to_string(kMaxSegmentCost) + " cost units)");
  }
  return Status::OK();
}

Status ValidateInfer(const InferSpec& s) {
  if (s.count < 1 || s.count > kMaxInferImages) {
    return Status::OutOfRange("count is outside [1, " + std::to_string(kMaxInferImages) + "]");
  }
  if (s.slice_size < 1 || s.slice_size > s.count) {
    return Status::OutOfRange("slice_size must be in [1, count]");
  }
  return Status::OK();
}

}  // namespace

uint64_t TrainStepCost(const TrainSpec& s) {
  const uint64_t b = s.batch_size;
  uint64_t macs = 0;
  bool first = s.architecture != Architecture::kCnn;
  if (s.architecture == Architecture::kCnn && s.conv_channels.size() == 2) {
    const uint64_t c0 = s.conv_channels[0], c1 = s.conv_channels[1];
    const uint64_t hw0 = uint64_t{kImageRows} * kImageCols, hw1 = hw0 / 4;
    const uint64_t conv0 = b * hw0 * c0 * 1 * 25, conv1 = b * hw1 * c1 * c0 * 25;
    // A convolution multiply-add costs 2 units. conv0: forward and weight gradient (no input
    // gradient for the image); conv1: forward, weight gradient and input gradient.
    macs += 2 * 2 * conv0;
    macs += 2 * 3 * conv1;
    macs += 4 * b * (hw0 * c0 + hw1 * c1);  // ReLU, pooling and their gradients
  }
  for (const LayerDims& l : DenseLayers(s)) {
    macs += (first ? 2 : 3) * b * l.in * l.out;
    macs += 2 * b * l.out;  // bias, activation and their gradients
    first = false;
  }
  macs += 4 * b * kNumClasses;                          // softmax cross-entropy and its gradient
  macs += ParamCount(s) * (OptimizerSlots(s) * 3 + 1);  // the optimiser update
  return macs;
}

float LearningRate(const TrainSpec& s, uint64_t epoch) {
  return s.learning_rate * PowByMultiplication(s.learning_rate_decay, epoch);
}

uint64_t TrainStateBytes(const TrainSpec& s) { return ParamCount(s) * 4 * (1 + OptimizerSlots(s)); }

uint32_t MaxStepsPerSegment(const TrainSpec& s) {
  uint64_t step = std::max<uint64_t>(1, TrainStepCost(s));
  uint64_t n = kMaxSegmentCost / step;
  return static_cast<uint32_t>(std::clamp<uint64_t>(n, 1, UINT32_MAX));
}

Status ValidateJobSpec(const JobSpec& spec) {
  switch (spec.kind) {
    case JobKind::kTrainClassifier:
      return ValidateTrain(spec.train).WithContext("train-classifier");
    case JobKind::kInferClassifier:
      return ValidateInfer(spec.infer).WithContext("infer-classifier");
  }
  return Status::InvalidArgument("unknown job kind");
}

Result<JobSpec> ParseJobSpec(std::string_view text) {
  PROBITY_ASSIGN_OR_RETURN(Fields f, Tokenise(text));
  PROBITY_ASSIGN_OR_RETURN(std::string kind, f.String("kind"));
  JobSpec spec;
  if (kind == "train-classifier") {
    spec.kind = JobKind::kTrainClassifier;
    PROBITY_ASSIGN_OR_RETURN(spec.train, TrainFromText(f));
  } else if (kind == "infer-classifier") {
    spec.kind = JobKind::kInferClassifier;
    PROBITY_ASSIGN_OR_RETURN(spec.infer, InferFromText(f));
  } else {
    return LineError(f.raw["kind"].line,
                     "unknown job kind \"" + kind + "\" (train-classifier or infer-classifier)");
  }
  PROBITY_RETURN_IF_ERROR(ValidateJobSpec(spec));
  return spec;
}

std::string FormatJobSpec(const JobSpec& spec) {
  std::string out = "kind = \"" + std::string(JobKindName(spec.kind)) + "\"\n";
  auto line = [&out](const std::string& k, const std::string& v) { out += k + " = " + v + "\n"; };
  auto quoted = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
  auto fl = [](float f) { return Fields::FloatText(f); };
  if (spec.kind == JobKind::kTrainClassifier) {
    const TrainSpec& s = spec.train;
    std::string ds = s.dataset == FashionMnistTrainId()  ? "fashion-mnist-train"
                     : s.dataset == FashionMnistTestId() ? "fashion-mnist-test"
                                                         : ToHex(s.dataset);
    line("dataset", quoted(ds));
    line("examples", std::to_string(s.examples));
    line("architecture", quoted(ArchitectureName(s.architecture)));
    line("hidden", ListText(s.hidden));
    if (s.architecture == Architecture::kCnn) line("conv_channels", ListText(s.conv_channels));
    line("optimizer", quoted(OptimizerName(s.optimizer)));
    line("learning_rate", fl(s.learning_rate));
    line("learning_rate_decay", fl(s.learning_rate_decay));
    if (s.optimizer == OptimizerKind::kSgdMomentum) {
      line("momentum", fl(s.momentum));
    } else {
      line("beta1", fl(s.beta1));
      line("beta2", fl(s.beta2));
      line("epsilon", fl(s.epsilon));
    }
    line("batch_size", std::to_string(s.batch_size));
    line("epochs", std::to_string(s.epochs));
    line("seed", std::to_string(s.seed));
    line("steps_per_segment", std::to_string(s.steps_per_segment));
    line("augment", quoted(s.augment == Augmentation::kMirror ? "mirror" : "none"));
  } else {
    const InferSpec& s = spec.infer;
    line("model", quoted(ToHex(s.model)));
    line("images", quoted(ToHex(s.images)));
    line("count", std::to_string(s.count));
    line("slice_size", std::to_string(s.slice_size));
  }
  return out;
}

Bytes EncodeJobSpec(const JobSpec& spec) {
  ByteWriter w;
  w.Raw(AsBytes(kSpecMagic));
  w.U8(kSpecVersion);
  w.U8(static_cast<uint8_t>(spec.kind));
  if (spec.kind == JobKind::kTrainClassifier) {
    const TrainSpec& s = spec.train;
    w.Raw(s.dataset);
    w.U32(s.examples);
    w.U8(static_cast<uint8_t>(s.architecture));
    w.U8(static_cast<uint8_t>(s.hidden.size()));
    for (uint32_t h : s.hidden) w.U32(h);
    w.U8(static_cast<uint8_t>(s.conv_channels.size()));
    for (uint32_t c : s.conv_channels) w.U32(c);
    w.U8(static_cast<uint8_t>(s.optimizer));
    w.F32(s.learning_rate);
    w.F32(s.learning_rate_decay);
    if (s.optimizer == OptimizerKind::kSgdMomentum) {
      w.F32(s.momentum);
    } else {
      w.F32(s.beta1);
      w.F32(s.beta2);
      w.F32(s.epsilon);
    }
    w.U32(s.batch_size);
    w.U32(s.epochs);
    w.U64(s.seed);
    w.U32(s.steps_per_segment);
    w.U8(static_cast<uint8_t>(s.augment));
  } else {
    const InferSpec& s = spec.infer;
    w.Raw(s.model);
    w.Raw(s.images);
    w.U32(s.count);
    w.U32(s.slice_size);
  }
  return w.Take();
}

namespace {
Status ReadHash(ByteReader& r, Hash256* h) {
  ByteView v;
  PROBITY_RETURN_IF_ERROR(r.Raw(32, &v));
  std::copy(v.begin(), v.end(), h->begin());
  return Status::OK();
}
Status ReadList(ByteReader& r, std::vector<uint32_t>* out) {
  uint8_t n;
  PROBITY_RETURN_IF_ERROR(r.U8(&n));
  if (n > kMaxHiddenLayers) return Status::Corruption("list of " + std::to_string(n) + " entries");
  out->resize(n);
  for (uint32_t& x : *out) PROBITY_RETURN_IF_ERROR(r.U32(&x));
  return Status::OK();
}
}  // namespace

Result<JobSpec> DecodeJobSpec(ByteView bytes) {
  ByteReader r(bytes);
  ByteView magic;
  uint8_t version, kind;
  auto corrupt = [](const Status& s) { return s.WithContext("job spec encoding"); };
  Status st = r.Raw(4, &magic);
  if (!st.ok()) return corrupt(st);
  if (AsChars(magic) != kSpecMagic) return Status::Corruption("job spec encoding: bad magic");
  if (!(st = r.U8(&version)).ok()) return corrupt(st);
  if (version != kSpecVersion) {
    return Status::Corruption("job spec encoding: unsupported version " + std::to_string(version));
  }
  if (!(st = r.U8(&kind)).ok()) return corrupt(st);
  JobSpec spec;
  auto body = [&]() -> Status {
    if (kind == static_cast<uint8_t>(JobKind::kTrainClassifier)) {
      spec.kind = JobKind::kTrainClassifier;
      TrainSpec& s = spec.train;
      uint8_t arch, opt;
      PROBITY_RETURN_IF_ERROR(ReadHash(r, &s.dataset));
      PROBITY_RETURN_IF_ERROR(r.U32(&s.examples));
      PROBITY_RETURN_IF_ERROR(r.U8(&arch));
      if (arch != 1 && arch != 2) return Status::Corruption("unknown architecture");
      s.architecture = static_cast<Architecture>(arch);
      PROBITY_RETURN_IF_ERROR(ReadList(r, &s.hidden));
      PROBITY_RETURN_IF_ERROR(ReadList(r, &s.conv_channels));
      PROBITY_RETURN_IF_ERROR(r.U8(&opt));
      if (opt != 1 && opt != 2) return Status::Corruption("unknown optimizer");
      s.optimizer = static_cast<OptimizerKind>(opt);
      PROBITY_RETURN_IF_ERROR(r.F32(&s.learning_rate));
      PROBITY_RETURN_IF_ERROR(r.F32(&s.learning_rate_decay));
      if (s.optimizer == OptimizerKind::kSgdMomentum) {
        PROBITY_RETURN_IF_ERROR(r.F32(&s.momentum));
      } else {
        PROBITY_RETURN_IF_ERROR(r.F32(&s.beta1));
        PROBITY_RETURN_IF_ERROR(r.F32(&s.beta2));
        PROBITY_RETURN_IF_ERROR(r.F32(&s.epsilon));
      }
      PROBITY_RETURN_IF_ERROR(r.U32(&s.batch_size));
      PROBITY_RETURN_IF_ERROR(r.U32(&s.epochs));
      PROBITY_RETURN_IF_ERROR(r.U64(&s.seed));
      PROBITY_RETURN_IF_ERROR(r.U32(&s.steps_per_segment));
      uint8_t augment;
      PROBITY_RETURN_IF_ERROR(r.U8(&augment));
      if (augment > 1) return Status::Corruption("unknown augmentation");
      s.augment = static_cast<Augmentation>(augment);
    } else if (kind == static_cast<uint8_t>(JobKind::kInferClassifier)) {
      spec.kind = JobKind::kInferClassifier;
      PROBITY_RETURN_IF_ERROR(ReadHash(r, &spec.infer.model));
      PROBITY_RETURN_IF_ERROR(ReadHash(r, &spec.infer.images));
      PROBITY_RETURN_IF_ERROR(r.U32(&spec.infer.count));
      PROBITY_RETURN_IF_ERROR(r.U32(&spec.infer.slice_size));
    } else {
      return Status::Corruption("unknown job kind " + std::to_string(kind));
    }
    return r.ExpectEnd();
  };
  if (!(st = body()).ok()) return corrupt(st);
  // A decoded spec obeys the same ranges as a parsed one, so that no out-of-range job can be
  // ordered by writing bytes instead of text.
  if (!(st = ValidateJobSpec(spec)).ok()) {
    return Status::Corruption("job spec encoding: " + st.message());
  }
  return spec;
}

const char* const kReferenceMlpSpecText = R"(kind = "train-classifier"
dataset = "fashion-mnist-train"
examples = 60000
architecture = "mlp"
hidden = [256, 128, 100]
optimizer = "adam"
learning_rate = 0.001
learning_rate_decay = 0.8
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8
batch_size = 64
epochs = 10
seed = 1
steps_per_segment = 20
augment = "none"
)";

const char* const kReferenceCnnSpecText = R"(kind = "train-classifier"
dataset = "fashion-mnist-train"
examples = 60000
architecture = "cnn"
conv_channels = [16, 32]
hidden = [128]
optimizer = "adam"
learning_rate = 0.001
learning_rate_decay = 0.8
beta1 = 0.9
beta2 = 0.999
epsilon = 1e-8
batch_size = 32
epochs = 15
seed = 1
steps_per_segment = 1
augment = "mirror"
)";

JobSpec ReferenceMlpSpec() { return ParseJobSpec(kReferenceMlpSpecText).value(); }
JobSpec ReferenceCnnSpec() { return ParseJobSpec(kReferenceCnnSpecText).value(); }

Hash256 JobInputHash(const JobSpec& spec) {
  return TaggedHash("probity/job-spec", EncodeJobSpec(spec));
}

bool operator==(const TrainSpec& a, const TrainSpec& b) {
  return a.dataset == b.dataset && a.examples == b.examples && a.architecture == b.architecture &&
         a.hidden == b.hidden && a.conv_channels == b.conv_channels && a.optimizer == b.optimizer &&
         SameBits(a.learning_rate, b.learning_rate) &&
         SameBits(a.learning_rate_decay, b.learning_rate_decay) &&
         SameBits(a.momentum, b.momentum) && SameBits(a.beta1, b.beta1) &&
         SameBits(a.beta2, b.beta2) && SameBits(a.epsilon, b.epsilon) &&
         a.batch_size == b.batch_size && a.epochs == b.epochs && a.seed == b.seed &&
         a.steps_per_segment == b.steps_per_segment && a.augment == b.augment;
}
bool operator==(const InferSpec& a, const InferSpec& b) {
  return a.model == b.model && a.images == b.images && a.count == b.count &&
         a.slice_size == b.slice_size;
}
bool operator==(const JobSpec& a, const JobSpec& b) {
  if (a.kind != b.kind) return false;
  return a.kind == JobKind::kTrainClassifier ? a.train == b.train : a.infer == b.infer;
}

}  // namespace probity::workloads
