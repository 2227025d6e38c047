// Job specs: what a buyer orders. A spec is written as text (a file or CLI flags), parsed
// strictly, and bound on chain by the hash of its canonical byte encoding (the job input hash).
//
// Text format (docs/workloads.md): one `key = value` per line; `#` starts a comment; blank lines
// are ignored. A value is an unsigned decimal integer, a decimal float (`0.001`, `1e-8`), a
// double-quoted string without escapes, or a list of integers `[256, 128]`. Every key of the
// job kind must appear exactly once; an unknown key, a repeated key, a key that does not apply
// (e.g. `momentum` with `optimizer = "adam"`), a missing key or a value out of range is
// kInvalidArgument (kOutOfRange for a number outside its range) naming the line and the key.
//
//   kind = "train-classifier"                kind = "infer-classifier"
//   dataset = "fashion-mnist-train"          model = "<64 hex: model id>"
//   examples = 60000                         images = "<64 hex: ImagesRoot>"
//   architecture = "mlp"      # or "cnn"     count = 10000
//   hidden = [256, 128, 100]                 slice_size = 500
//   conv_channels = [16, 32]  # cnn only
//   optimizer = "adam"        # or "sgd-momentum"
//   learning_rate = 0.001
//   learning_rate_decay = 0.8 # per epoch
//   beta1 = 0.9               # adam only
//   beta2 = 0.999             # adam only
//   epsilon = 1e-8            # adam only
//   momentum = 0.9            # sgd-momentum only
//   batch_size = 64
//   epochs = 15
//   seed = 1
//   steps_per_segment = 8
//   augment = "none"          # or "mirror"
//
// `dataset` is a data set id in hex, or one of the names "fashion-mnist-train" and
// "fashion-mnist-test", which stand for Debian's files' ids.
//
// Canonical encoding (little-endian, see probity/primitives/encoding.h):
//   spec  := "PRBJ" u8 version=1 u8 kind body
//   kind  := 1 (train-classifier) | 2 (infer-classifier)
//   train := dataset:32 u32 examples u8 arch (1 mlp | 2 cnn) u8 n_hidden u32[n_hidden]
//            u8 n_conv u32[n_conv] u8 optimizer (1 sgd-momentum | 2 adam)
//            f32 learning_rate f32 learning_rate_decay
//            (sgd-momentum: f32 momentum | adam: f32 beta1 f32 beta2 f32 epsilon)
//            u32 batch_size u32 epochs u64 seed u32 steps_per_segment
//            u8 augment (0 none | 1 mirror)
//   infer := model:32 images:32 u32 count u32 slice_size
// The decoder accepts exactly this (same ranges as the text parser, no trailing bytes), so a
// spec has one encoding and one hash:
//   job input hash = tagged_hash("probity/job-spec", canonical encoding)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::workloads {

enum class JobKind : uint8_t { kTrainClassifier = 1, kInferClassifier = 2 };
enum class Architecture : uint8_t { kMlp = 1, kCnn = 2 };
enum class OptimizerKind : uint8_t { kSgdMomentum = 1, kAdam = 2 };
enum class Augmentation : uint8_t { kNone = 0, kMirror = 1 };

std::string_view JobKindName(JobKind kind);            // "train-classifier", "infer-classifier"
std::string_view ArchitectureName(Architecture arch);  // "mlp", "cnn"
std::string_view OptimizerName(OptimizerKind opt);     // "sgd-momentum", "adam"

// Images of train-classifier data sets are 28 × 28 (Fashion-MNIST); a data set of another
// shape is refused when the job starts.
inline constexpr uint32_t kImageRows = 28;
inline constexpr uint32_t kImageCols = 28;

// train-classifier.
//   mlp: input (784) → for each h in hidden: linear(h), ReLU → linear(10)
//   cnn: conv 5×5 pad 2 (1 → c0), ReLU, max-pool 2×2 → conv 5×5 pad 2 (c0 → c1), ReLU,
//        max-pool 2×2 → flatten (c1 × 7 × 7) → for each h in hidden: linear(h), ReLU →
//        linear(10)
// Pixels enter standardised: fma(p, 0x1.6c073ap-7, -0x1.9ed25p-1), i.e. (p / 255 - 0.2860) /
// 0.3530 (Fashion-MNIST's mean and deviation) in one f32 rounding. Loss: mean softmax
// cross-entropy over the batch. Epoch e trains with the learning rate
// LearningRate(spec, e) = learning_rate · PowByMultiplication(learning_rate_decay, e) (f32, one
// rounding per multiplication; backend.h). Each epoch visits a fresh permutation of the first
// `examples` examples (docs/workloads.md: the shuffle); the last partial batch of an epoch is
// dropped.
struct TrainSpec {
  Hash256 dataset{};
  uint32_t examples = 0;
  Architecture architecture = Architecture::kMlp;
  std::vector<uint32_t> hidden;
  std::vector<uint32_t> conv_channels;  // cnn: exactly 2; mlp: empty
  OptimizerKind optimizer = OptimizerKind::kAdam;
  float learning_rate = 0;
  float learning_rate_decay = 0;  // (0, 1]: epoch e trains at learning_rate · decay^e
  float momentum = 0;             // sgd-momentum
  float beta1 = 0;                // adam
  float beta2 = 0;                // adam
  float epsilon = 0;              // adam
  uint32_t batch_size = 0;
  uint32_t epochs = 0;
  uint64_t seed = 0;
  uint32_t steps_per_segment = 0;
  // mirror: in epoch e, example x is seen left-right mirrored when MirrorExample(seed, e, x)
  // (random.h) says so, a fresh choice each epoch.
  Augmentation augment = Augmentation::kNone;

  uint64_t steps_per_epoch() const { return examples / batch_size; }
  uint64_t total_steps() const { return steps_per_epoch() * epochs; }
  uint64_t segment_count() const {
    return (total_steps() + steps_per_segment - 1) / steps_per_segment;
  }
};

// infer-classifier: predicts a label for each of `count` images with the model `model`; segment
// i classifies images [i × slice_size, min(count, (i + 1) × slice_size)). `images` is
// ImagesRoot(images, slice_size) (probity/workloads/workloads.h), which lets an opening carry
// one slice with a Merkle proof instead of every image.
struct InferSpec {
  Hash256 model{};
  Hash256 images{};
  uint32_t count = 0;
  uint32_t slice_size = 0;

  uint64_t segment_count() const { return (uint64_t{count} + slice_size - 1) / slice_size; }
};

struct JobSpec {
  JobKind kind = JobKind::kTrainClassifier;
  TrainSpec train;  // meaningful when kind == kTrainClassifier
  InferSpec infer;  // meaningful when kind == kInferClassifier
};

// Ranges. A segment must re-execute on one CPU core within about 100 ms and its opening fit in
// 4 MiB; ValidateJobSpec enforces both for training through a cost model and the state size
// (RunJob and VerifyOpening do for inference, which needs the model).
//
// Cost unit: one multiply-add of a dense layer (GEMM). A convolution multiply-add counts 2,
// elementwise work and the optimiser update count by element (docs/workloads.md). Measured on
// one AVX2/FMA core (bench workloads, segment_reexec_ms): a dense step runs at about 14 G
// units/s and a conv step at about 16 G units/s, so kMaxSegmentCost takes about 55–60 ms,
// leaving room for slower verifier cores below the 100 ms bound.
inline constexpr uint64_t kMaxOpeningBytes = 4u << 20;
inline constexpr uint64_t kMaxSegmentCost = 800'000'000;
inline constexpr uint64_t kMaxStateBytes = kMaxOpeningBytes - (64u << 10);
inline constexpr uint32_t kMaxHiddenLayers = 4;
inline constexpr uint32_t kMaxLayerWidth = 4096;
inline constexpr uint32_t kMaxConvChannels = 128;
inline constexpr uint32_t kMaxBatchSize = 4096;
inline constexpr uint32_t kMaxEpochs = 1000;
inline constexpr uint32_t kMaxExamples = 1u << 24;
inline constexpr uint32_t kMaxInferImages = 1u << 24;

// Parses the text format. REQUIRES nothing: any input yields a spec or an error.
Result<JobSpec> ParseJobSpec(std::string_view text);
// Renders the text format; ParseJobSpec(FormatJobSpec(s)) == s for every valid spec.
std::string FormatJobSpec(const JobSpec& spec);

Bytes EncodeJobSpec(const JobSpec& spec);  // REQUIRES: ValidateJobSpec(spec).ok()
Result<JobSpec> DecodeJobSpec(ByteView bytes);
Hash256 JobInputHash(const JobSpec& spec);  // REQUIRES: ValidateJobSpec(spec).ok()

// Checks every range and the segment bounds.
Status ValidateJobSpec(const JobSpec& spec);

// Cost model of train-classifier (used by ValidateJobSpec and by CLIs that choose
// steps_per_segment): the cost of one training step (forward, backward, update; units above)
// and the bytes of the training state (weights and optimiser slots, fp32).
uint64_t TrainStepCost(const TrainSpec& spec);
// The learning rate of epoch `epoch` (see TrainSpec).
float LearningRate(const TrainSpec& spec, uint64_t epoch);
uint64_t TrainStateBytes(const TrainSpec& spec);
// The largest steps_per_segment within kMaxSegmentCost (at least 1).
uint32_t MaxStepsPerSegment(const TrainSpec& spec);

// The reference jobs: what `probity bench workloads` trains and whose largest segments the
// bounds tests time (docs/workloads.md shows their text).
//   mlp: 784-256-128-100-10, Adam (lr 0.001, decay 0.8 per epoch), batch 64, 10 epochs,
//        20 steps per segment: 9,370 steps, 469 segments; reaches the 0.8833 anchor.
//   cnn: conv 16, conv 32 (5×5, pooling), fc 128, Adam (lr 0.001, decay 0.8), batch 32,
//        15 epochs, mirror augmentation, 1 step per segment.
JobSpec ReferenceMlpSpec();
JobSpec ReferenceCnnSpec();
extern const char* const kReferenceMlpSpecText;
extern const char* const kReferenceCnnSpecText;

bool operator==(const TrainSpec& a, const TrainSpec& b);
bool operator==(const InferSpec& a, const InferSpec& b);
bool operator==(const JobSpec& a, const JobSpec& b);

}  // namespace probity::workloads
