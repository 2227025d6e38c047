#include "probity/workloads/job_spec.h"

#include <doctest/doctest.h>

#include "probity/primitives/hex.h"
#include "probity/workloads/dataset.h"

using namespace probity;
using namespace probity::workloads;

namespace {
const char* kMlp = R"(# the default MLP job
kind = "train-classifier"
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
epochs = 15
seed = 7   # data order and initialisation
steps_per_segment = 4
augment = "none"
)";

const char* kCnn = R"(kind = "train-classifier"
dataset = "fashion-mnist-train"
examples = 60000
architecture = "cnn"
conv_channels = [16, 32]
hidden = [128]
optimizer = "sgd-momentum"
learning_rate = 0.05
learning_rate_decay = 1
momentum = 0.9
batch_size = 32
epochs = 20
seed = 1
steps_per_segment = 1
augment = "mirror"
)";

// The text with `key`'s line replaced (or removed when `value` is empty, or appended when absent).
std::string With(std::string text, const std::string& key, const std::string& value) {
  size_t p = text.find("\n" + key + " =");
  if (p == std::string::npos) return value.empty() ? text : text + key + " = " + value + "\n";
  size_t end = text.find('\n', p + 1);
  std::string repl = value.empty() ? "" : "\n" + key + " = " + value;
  return text.replace(p, end - p, repl);
}

Status Err(const std::string& text) {
  auto r = ParseJobSpec(text);
  REQUIRE(!r.ok());
  return r.status();
}
}  // namespace

TEST_CASE("job spec: the MLP and CNN examples parse to what they say") {
  auto m = ParseJobSpec(kMlp);
  REQUIRE(m.ok());
  CHECK(m->kind == JobKind::kTrainClassifier);
  const TrainSpec& t = m->train;
  CHECK(t.dataset == FashionMnistTrainId());
  CHECK(t.hidden == std::vector<uint32_t>{256, 128, 100});
  CHECK(t.optimizer == OptimizerKind::kAdam);
  CHECK(t.learning_rate == 0.001f);
  CHECK(t.epsilon == 1e-8f);
  CHECK(t.seed == 7);
  CHECK(t.steps_per_epoch() == 937);
  CHECK(t.total_steps() == 937 * 15);
  CHECK(t.segment_count() == (937 * 15 + 3) / 4);

  auto c = ParseJobSpec(kCnn);
  REQUIRE(c.ok());
  CHECK(c->train.architecture == Architecture::kCnn);
  CHECK(c->train.conv_channels == std::vector<uint32_t>{16, 32});
  CHECK(c->train.momentum == 0.9f);
}

TEST_CASE("job spec: text and canonical bytes round-trip; the hash binds every field") {
  for (const char* text : {kMlp, kCnn}) {
    auto s = ParseJobSpec(text);
    REQUIRE(s.ok());
    auto again = ParseJobSpec(FormatJobSpec(*s));
    REQUIRE(again.ok());
    CHECK(*again == *s);
    Bytes enc = EncodeJobSpec(*s);
    auto dec = DecodeJobSpec(enc);
    REQUIRE(dec.ok());
    CHECK(*dec == *s);
    CHECK(EncodeJobSpec(*dec) == enc);
  }
  const Hash256 base = JobInputHash(*ParseJobSpec(kMlp));
  for (auto [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"seed", "8"},
                                                        {"learning_rate", "0.0010001"},
                                                        {"learning_rate_decay", "0.81"},
                                                        {"hidden", "[256, 128, 99]"},
                                                        {"examples", "59999"},
                                                        {"epochs", "14"},
                                                        {"steps_per_segment", "3"},
                                                        {"dataset", "\"fashion-mnist-test\""},
                                                        {"beta2", "0.998"},
                                                        {"augment", "\"mirror\""}}) {
    auto s = ParseJobSpec(With(kMlp, k, v));
    REQUIRE_MESSAGE(s.ok(), k);
    CHECK_MESSAGE(JobInputHash(*s) != base, k);
  }
}

TEST_CASE("job spec: an infer spec round-trips") {
  std::string text = "kind = \"infer-classifier\"\nmodel = \"" + std::string(64, 'a') +
                     "\"\nimages = \"" + std::string(64, 'B') +
                     "\"\ncount = 10000\nslice_size = 500\n";
  auto s = ParseJobSpec(text);
  REQUIRE(s.ok());
  CHECK(s->infer.count == 10000);
  CHECK(s->infer.segment_count() == 20);
  CHECK(ToHex(s->infer.images) == std::string(64, 'b'));
  CHECK(*DecodeJobSpec(EncodeJobSpec(*s)) == *s);
  CHECK(*ParseJobSpec(FormatJobSpec(*s)) == *s);
  CHECK(Err(With(text, "slice_size", "10001")).code() == Code::kOutOfRange);
  CHECK(Err(With(text, "model", "\"abc\"")).message().find("64 hex") != std::string::npos);
  CHECK(Err(With(text, "seed", "1")).message().find("unknown key 'seed'") != std::string::npos);
}

TEST_CASE("job spec: unknown, repeated, missing and inapplicable keys are refused") {
  auto msg = [](const std::string& t) { return Err(t).message(); };
  CHECK(msg(std::string(kMlp) + "dropout = 0.5\n").find("unknown key 'dropout'") !=
        std::string::npos);
  CHECK(msg(std::string(kMlp) + "seed = 1\n").find("'seed' given twice") != std::string::npos);
  CHECK(msg(With(kMlp, "epochs", "")).find("missing key 'epochs'") != std::string::npos);
  CHECK(msg(With(kMlp, "beta1", "")).find("missing key 'beta1'") != std::string::npos);
  CHECK(msg(With(kMlp, "momentum", "0.9")).find("unknown key 'momentum'") != std::string::npos);
  CHECK(msg(With(kMlp, "conv_channels", "[8, 8]")).find("unknown key 'conv_channels'") !=
        std::string::npos);
  CHECK(msg(With(kCnn, "conv_channels", "")).find("missing key 'conv_channels'") !=
        std::string::npos);
  CHECK(msg(With(kCnn, "beta1", "0.9")).find("unknown key 'beta1'") != std::string::npos);
  CHECK(msg("kind = \"mine-bitcoin\"\n").find("unknown job kind") != std::string::npos);
  CHECK(msg("").find("missing key 'kind'") != std::string::npos);
  CHECK(msg(std::string(kMlp) + "garbage\n").find("line 18: expected 'key = value'") !=
        std::string::npos);
  CHECK(msg(std::string(kMlp) + "Seed2 = 1\n").find("bad key") != std::string::npos);
  CHECK(msg(With(kMlp, "architecture", "\"transformer\"")).find("mlp") != std::string::npos);
  CHECK(msg(With(kMlp, "optimizer", "\"rmsprop\"")).find("adam") != std::string::npos);
  CHECK(msg(With(kMlp, "augment", "\"crop\"")).find("mirror") != std::string::npos);
  CHECK(msg(With(kMlp, "augment", "")).find("missing key 'augment'") != std::string::npos);
  CHECK(msg(With(kMlp, "dataset", "\"mnist\"")).find("64 hex") != std::string::npos);
  CHECK(msg(std::string(kMlp) + "x = \"\x01\"\n").find("control") != std::string::npos);
}

TEST_CASE("job spec: malformed and out-of-range values are refused") {
  struct Case {
    const char* key;
    const char* value;
    Code code;
  };
  for (const Case& c : std::vector<Case>{
           {"seed", "-1", Code::kInvalidArgument},
           {"seed", "18446744073709551616", Code::kOutOfRange},
           {"seed", "0x10", Code::kInvalidArgument},
           {"epochs", "0", Code::kOutOfRange},
           {"epochs", "1001", Code::kOutOfRange},
           {"epochs", "1.5", Code::kInvalidArgument},
           {"batch_size", "0", Code::kOutOfRange},
           {"batch_size", "70000", Code::kOutOfRange},
           {"examples", "63", Code::kOutOfRange},  // fewer than one batch
           {"learning_rate", "0", Code::kOutOfRange},
           {"learning_rate", "-0.1", Code::kInvalidArgument},
           {"learning_rate", "nan", Code::kInvalidArgument},
           {"learning_rate", "inf", Code::kInvalidArgument},
           {"learning_rate", "1e39", Code::kOutOfRange},
           {"learning_rate", "0.1x", Code::kInvalidArgument},
           {"learning_rate_decay", "0", Code::kOutOfRange},
           {"learning_rate_decay", "1.01", Code::kOutOfRange},
           {"beta1", "1", Code::kOutOfRange},
           {"beta2", "1.5", Code::kOutOfRange},
           {"epsilon", "0", Code::kOutOfRange},
           {"hidden", "[256, 0]", Code::kOutOfRange},
           {"hidden", "[256, 5000]", Code::kOutOfRange},
           {"hidden", "[1, 1, 1, 1, 1]", Code::kOutOfRange},
           {"hidden", "[256,]", Code::kInvalidArgument},
           {"hidden", "256", Code::kInvalidArgument},
           {"hidden", "[2048, 2048]", Code::kOutOfRange},  // state above an opening's 4 MiB
           {"steps_per_segment", "0", Code::kOutOfRange},
           {"steps_per_segment", "100000", Code::kOutOfRange},  // above 100 ms on one core
           {"architecture", "mlp", Code::kInvalidArgument},     // unquoted string
       }) {
    Status s = Err(With(kMlp, c.key, c.value));
    CHECK_MESSAGE(s.code() == c.code, c.key, " = ", c.value, ": ", s.ToString());
    const bool names_key = s.message().find(c.key) != std::string::npos;
    CHECK_MESSAGE((names_key || c.code == Code::kOutOfRange), s.ToString());
  }
  CHECK(Err(With(kCnn, "conv_channels", "[16]")).message().find("2 entries") != std::string::npos);
  CHECK(Err(With(kCnn, "conv_channels", "[16, 200]")).code() == Code::kOutOfRange);
  CHECK(Err(With(kCnn, "batch_size", "4096")).message().find("one training step costs") !=
        std::string::npos);
}

TEST_CASE("job spec: the segment bounds follow the cost model") {
  auto s = ParseJobSpec(kMlp);
  REQUIRE(s.ok());
  const uint32_t max = MaxStepsPerSegment(s->train);
  CHECK(max >= 1);
  CHECK(TrainStepCost(s->train) * max <= kMaxSegmentCost);
  CHECK(ParseJobSpec(With(kMlp, "steps_per_segment", std::to_string(max))).ok());
  CHECK(!ParseJobSpec(With(kMlp, "steps_per_segment", std::to_string(max + 1))).ok());
  CHECK(TrainStateBytes(s->train) <= kMaxStateBytes);
  // 784·256 + 256 + 256·128 + 128 + 128·100 + 100 + 100·10 + 10 parameters, 3 fp32 each (Adam).
  CHECK(TrainStateBytes(s->train) == 247766u * 12);
}

TEST_CASE("job spec: the decoder refuses every malformed encoding") {
  auto s = ParseJobSpec(kMlp);
  REQUIRE(s.ok());
  Bytes enc = EncodeJobSpec(*s);
  for (size_t n = 0; n < enc.size(); ++n) {
    CHECK(!DecodeJobSpec(ByteView(enc.data(), n)).ok());
  }
  Bytes longer = enc;
  longer.push_back(0);
  CHECK(DecodeJobSpec(longer).status().message().find("trailing") != std::string::npos);
  Bytes version = enc;
  version[4] = 2;
  CHECK(DecodeJobSpec(version).status().message().find("version") != std::string::npos);
  Bytes kind = enc;
  kind[5] = 9;
  CHECK(DecodeJobSpec(kind).status().message().find("job kind") != std::string::npos);
  // Every single-byte change either fails to decode or decodes to a different, valid spec.
  for (size_t i = 0; i < enc.size(); ++i) {
    Bytes b = enc;
    b[i] ^= 0x40;
    auto d = DecodeJobSpec(b);
    if (d.ok()) {
      CHECK(ValidateJobSpec(*d).ok());
      CHECK(!(*d == *s));
    }
  }
}

TEST_CASE("job spec: the reference jobs are valid and within the bounds") {
  for (const JobSpec& s : {ReferenceMlpSpec(), ReferenceCnnSpec()}) {
    CHECK(ValidateJobSpec(s).ok());
    CHECK(s.train.dataset == FashionMnistTrainId());
    CHECK(TrainStateBytes(s.train) <= kMaxStateBytes);
    CHECK(s.train.steps_per_segment <= MaxStepsPerSegment(s.train));
  }
  CHECK(ReferenceMlpSpec().train.segment_count() == 469);
  CHECK(ReferenceCnnSpec().train.segment_count() == 1875 * 15);
}
