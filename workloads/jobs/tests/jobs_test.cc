#include <doctest/doctest.h>

#include <algorithm>

#include "fixtures.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/random.h"
#include "probity/workloads/workloads.h"

using namespace probity;
using namespace probity::workloads;
using test_data::Cpu;
using test_data::FixtureCatalog;
using test_data::SmallTrainSpec;

namespace {

std::unique_ptr<JobRun> Train(const JobSpec& spec, Backend& backend,
                              uint64_t checkpoint_every = 2) {
  auto run = RunJob(spec, JobInputs{.catalog = &FixtureCatalog()}, backend,
                    RunOptions{.checkpoint_every = checkpoint_every});
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  return std::move(run).value();
}

// Opens every segment, sends it through the wire encoding, verifies and re-executes it.
void CheckEverySegment(const JobRun& run, Backend& provider, Backend& checker) {
  for (uint64_t i = 0; i < run.commitment().segment_count; ++i) {
    CAPTURE(i);
    auto o = run.Open(i, provider);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    Bytes wire = EncodeOpening(*o);
    CHECK(wire.size() <= kMaxOpeningBytes);
    auto decoded = DecodeOpening(wire);
    REQUIRE_MESSAGE(decoded.ok(), decoded.status().ToString());
    CHECK(EncodeOpening(*decoded) == wire);
    Status v = VerifyOpening(*decoded, run.commitment());
    CHECK_MESSAGE(v.ok(), v.ToString());
    auto out = Reexecute(*decoded, checker, FixtureCatalog());
    REQUIRE_MESSAGE(out.ok(), out.status().ToString());
    CHECK(*out == run.records()[i].output_hash);
    Status s = CheckSegment(*decoded, run.commitment(), checker, FixtureCatalog());
    CHECK_MESSAGE(s.ok(), s.ToString());
  }
}

// The Merkle tree of a (possibly tampered) trace, for building a cheating provider's openings.
struct Tree {
  std::vector<Hash256> leaves;
  explicit Tree(const std::vector<TraceRecord>& records) {
    for (const auto& r : records) leaves.push_back(MerkleLeafHash(EncodeTraceRecord(r)));
  }
  std::vector<Hash256> Proof(uint64_t i) const { return MerkleInclusionProof(leaves, i).value(); }
  Hash256 Root() const { return MerkleRootFromLeafHashes(leaves); }
};

}  // namespace

TEST_CASE("train job: the trace is a chain from the job input to the model id") {
  auto cpu = Cpu();
  const JobSpec spec = SmallTrainSpec();
  auto run = Train(spec, *cpu);
  const auto& c = run->commitment();
  REQUIRE(c.segment_count == 7);  // 2 epochs × 16 steps, 5 steps per segment
  CHECK(c.job_input_hash == JobInputHash(spec));
  CHECK(c.output_hash == ModelId(run->model()));
  CHECK(ArchitectureOf(run->model()).ok());
  CHECK(c.trace_root == TraceRoot(run->records()));
  CHECK(run->records()[0].input_hash == c.job_input_hash);
  for (uint64_t i = 0; i < c.segment_count; ++i) {
    CHECK(run->records()[i].index == i);
    if (i > 0) CHECK(run->records()[i].input_hash == run->records()[i - 1].output_hash);
  }
  // Training moved the weights away from their initial values.
  CHECK(run->model() != InitialParameters(ClassifierArch::Of(spec.train), spec.train.seed));
  CHECK(run->timings().commit_seconds > 0);
  CHECK(run->timings().commit_seconds < run->timings().total_seconds);
}

TEST_CASE("train job: the result does not depend on threads or checkpoints; seeds matter") {
  auto one = Cpu(1);
  auto two = Cpu(2);
  const JobSpec spec = SmallTrainSpec();
  auto a = Train(spec, *one, 1);
  auto b = Train(spec, *two, 64);
  CHECK(a->commitment() == b->commitment());
  JobSpec other = spec;
  other.train.seed = 12;
  CHECK(Train(other, *two)->commitment().output_hash != a->commitment().output_hash);
}

TEST_CASE("train job: every segment opens, verifies and re-executes (mlp, adam)") {
  auto provider = Cpu(2);
  auto checker = Cpu(1);
  auto run = Train(SmallTrainSpec("mlp", "adam"), *provider, 3);
  CheckEverySegment(*run, *provider, *checker);
}

TEST_CASE("train job: every segment opens, verifies and re-executes (cnn, sgd-momentum)") {
  auto provider = Cpu(2);
  auto checker = Cpu(1);
  auto run = Train(SmallTrainSpec("cnn", "sgd-momentum"), *provider, 2);
  REQUIRE(run->commitment().segment_count == 6);
  CheckEverySegment(*run, *provider, *checker);
  CHECK(run->model().count("conv1.weight") == 1);
}

TEST_CASE("openings: one corrupted byte anywhere is rejected") {
  auto cpu = Cpu();
  auto run = Train(SmallTrainSpec(), *cpu);
  for (uint64_t index : {uint64_t{0}, uint64_t{3}, uint64_t{6}}) {
    CAPTURE(index);
    Bytes wire = EncodeOpening(*run->Open(index, *cpu));
    // Every byte of the framing, records and proofs; a sample of the tensor payloads (each of
    // which the state hash covers as a whole).
    for (size_t pos = 0; pos < wire.size(); pos += pos < 2048 ? 1 : 499) {
      Bytes bad = wire;
      bad[pos] ^= 0x10;
      auto o = DecodeOpening(bad);
      if (!o.ok()) continue;
      Status s = CheckSegment(*o, run->commitment(), *cpu, FixtureCatalog());
      CHECK_MESSAGE(!s.ok(), "byte ", pos, " of ", wire.size(), " changed and still accepted");
    }
    for (size_t n = 0; n < wire.size(); n += 97)
      CHECK(!DecodeOpening(ByteView(wire.data(), n)).ok());
    Bytes longer = wire;
    longer.push_back(0);
    CHECK(DecodeOpening(longer).status().message().find("trailing") != std::string::npos);
  }
}

TEST_CASE("openings: a wrong commitment, index or input structure is refused without crashing") {
  auto cpu = Cpu();
  auto run = Train(SmallTrainSpec(), *cpu);
  const JobCommitment c = run->commitment();
  Opening o = *run->Open(2, *cpu);
  REQUIRE(VerifyOpening(o, c).ok());

  JobCommitment wrong = c;
  wrong.trace_root[0] ^= 1;
  CHECK(VerifyOpening(o, wrong).message().find("not in the trace root") != std::string::npos);
  wrong = c;
  wrong.job_input_hash[0] ^= 1;
  CHECK(VerifyOpening(o, wrong).message().find("ordered job input") != std::string::npos);
  wrong = c;
  wrong.segment_count = 8;
  CHECK(!VerifyOpening(o, wrong).ok());

  Opening missing_producer = o;
  missing_producer.producer.reset();
  CHECK(VerifyOpening(missing_producer, c).message().find("producing record") != std::string::npos);
  Opening wrong_producer = *run->Open(4, *cpu);
  wrong_producer.producer = o.record;
  wrong_producer.producer_proof = o.proof;
  CHECK(VerifyOpening(wrong_producer, c).message().find("not segment i-1") != std::string::npos);

  Opening beyond = o;
  beyond.record.index = 7;
  CHECK(!VerifyOpening(beyond, c).ok());
  CHECK(!Reexecute(beyond, *cpu, FixtureCatalog()).ok());

  // A state tensor of the wrong shape, a missing one, an extra one: refused by both.
  Opening reshaped = o;
  reshaped.tensors["fc0.bias"] = *Tensor::Zeros(DType::kF32, {31});
  CHECK(VerifyOpening(reshaped, c).message().find("fc0.bias") != std::string::npos);
  CHECK(Reexecute(reshaped, *cpu, FixtureCatalog()).status().message().find("fc0.bias") !=
        std::string::npos);
  Opening short_state = o;
  short_state.tensors.erase("adam_v/fc2.weight");
  CHECK(!Reexecute(short_state, *cpu, FixtureCatalog()).ok());
  Opening extra = o;
  extra.tensors["zzz"] = *Tensor::Zeros(DType::kF32, {1});
  CHECK(!Reexecute(extra, *cpu, FixtureCatalog()).ok());
  Opening images = o;
  images.slice = *Tensor::Zeros(DType::kU8, {1, 28, 28});
  CHECK(!Reexecute(images, *cpu, FixtureCatalog()).ok());
  Opening first = *run->Open(0, *cpu);
  first.tensors = o.tensors;
  CHECK(Reexecute(first, *cpu, FixtureCatalog()).status().message().find("carries no state") !=
        std::string::npos);

  // The data set must be known to the checker.
  DataCatalog empty("/nonexistent/fashion-mnist");
  CHECK(Reexecute(o, *cpu, empty).status().code() == Code::kNotFound);
}

TEST_CASE("cheating providers are caught by re-executing the segment they corrupted") {
  auto cpu = Cpu();
  const JobSpec spec = SmallTrainSpec();
  auto run = Train(spec, *cpu);
  const uint64_t k = 3;
  const Hash256 j = run->commitment().job_input_hash;

  // The provider perturbs one weight at the end of segment k, commits the hash of that state
  // and then continues honestly from it, so every link of its trace is consistent.
  Opening next = *run->Open(k + 1, *cpu);
  TensorMap bad_state = next.tensors;
  bad_state["fc1.weight"].mutable_data<float>()[7] += 0.5f;
  std::vector<TraceRecord> records(run->records().begin(), run->records().end());
  records[k].output_hash = TrainStateHash(j, (k + 1) * spec.train.steps_per_segment, bad_state);
  records[k + 1].input_hash = records[k].output_hash;
  Opening from_bad = next;
  from_bad.tensors = bad_state;
  from_bad.record = records[k + 1];
  auto out = Reexecute(from_bad, *cpu, FixtureCatalog());
  REQUIRE(out.ok());
  records[k + 1].output_hash = *out;
  for (uint64_t i = k + 2; i < records.size(); ++i) {
    records[i].input_hash = records[i - 1].output_hash;  // (later segments recomputed likewise)
  }
  const Tree tree(records);
  JobCommitment cheat = run->commitment();
  cheat.trace_root = tree.Root();
  cheat.output_hash = records.back().output_hash;

  Opening ok = *run->Open(k, *cpu);
  ok.record = records[k];
  ok.proof = tree.Proof(k);
  ok.producer = records[k - 1];
  ok.producer_proof = tree.Proof(k - 1);
  // Everything checkable without re-execution passes: the trace is self-consistent.
  CHECK(VerifyOpening(ok, cheat).ok());
  Status s = CheckSegment(ok, cheat, *cpu, FixtureCatalog());
  CHECK(s.code() == Code::kCorruption);
  CHECK(s.message().find("re-execution gives output") != std::string::npos);

  // Segment k+1 itself was computed honestly from the committed state: it checks out, which is
  // why the sample must hit the corrupted segment (DESIGN.md section 2, economics).
  from_bad.record = records[k + 1];
  from_bad.proof = tree.Proof(k + 1);
  from_bad.producer = records[k];
  from_bad.producer_proof = tree.Proof(k);
  CHECK(CheckSegment(from_bad, cheat, *cpu, FixtureCatalog()).ok());

  // A lazy provider who claims segment k changed nothing is caught the same way.
  std::vector<TraceRecord> lazy(run->records().begin(), run->records().end());
  lazy[k].output_hash = lazy[k].input_hash;
  const Tree lazy_tree(lazy);
  JobCommitment lazy_c = run->commitment();
  lazy_c.trace_root = lazy_tree.Root();
  Opening lazy_open = *run->Open(k, *cpu);
  lazy_open.record = lazy[k];
  lazy_open.proof = lazy_tree.Proof(k);
  lazy_open.producer_proof = lazy_tree.Proof(k - 1);
  CHECK(VerifyOpening(lazy_open, lazy_c).ok());
  CHECK(CheckSegment(lazy_open, lazy_c, *cpu, FixtureCatalog()).code() == Code::kCorruption);
}

TEST_CASE("train job: bad inputs are refused with clear errors") {
  auto cpu = Cpu();
  JobSpec spec = SmallTrainSpec();
  // The Fashion-MNIST id, with a catalog pointing where Debian's package is not installed.
  spec.train.dataset = FashionMnistTrainId();
  auto missing = RunJob(spec, JobInputs{.catalog = &FixtureCatalog()}, *cpu);
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("dataset-fashion-mnist") != std::string::npos);
  spec = SmallTrainSpec();
  spec.train.examples = 600;  // the fixture has 512
  auto too_many = RunJob(spec, JobInputs{.catalog = &FixtureCatalog()}, *cpu);
  CHECK(too_many.status().message().find("the data set has 512") != std::string::npos);
  spec = SmallTrainSpec();
  spec.train.learning_rate = -1;
  CHECK(RunJob(spec, JobInputs{.catalog = &FixtureCatalog()}, *cpu).status().code() ==
        Code::kOutOfRange);
  spec = SmallTrainSpec();
  CHECK(!RunJob(spec, JobInputs{.catalog = &FixtureCatalog()}, *cpu,
                RunOptions{.checkpoint_every = 0})
             .ok());
  auto run = Train(SmallTrainSpec(), *cpu);
  CHECK(run->Open(7, *cpu).status().code() == Code::kOutOfRange);
}

TEST_CASE("infer job: labels, logits and a verifiable trace over slices") {
  auto cpu = Cpu();
  auto trained = Train(SmallTrainSpec(), *cpu);
  const TensorMap& model = trained->model();
  const Dataset& test = *test_data::Test256();
  Tensor images = *Tensor::Zeros(DType::kU8, {256, 28, 28});
  std::copy(test.images.begin(), test.images.end(), images.mutable_bytes().data());

  JobSpec spec;
  spec.kind = JobKind::kInferClassifier;
  spec.infer = InferSpec{.model = ModelId(model), .count = 250, .slice_size = 64};
  Tensor first250 = *Tensor::Zeros(DType::kU8, {250, 28, 28});
  std::copy_n(images.bytes().data(), first250.byte_size(), first250.mutable_bytes().data());
  spec.infer.images = *ImagesRoot(first250, 64);
  auto run = RunJob(spec, JobInputs{.model = &model, .images = &first250}, *cpu);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  const JobRun& r = **run;
  CHECK(r.commitment().segment_count == 4);  // 64 + 64 + 64 + 58
  CHECK(r.labels().shape() == Shape{250});
  CHECK(r.logits().shape() == Shape{250, 10});
  auto labels = r.labels().data<int32_t>();
  auto logits = r.logits().data<float>();
  size_t correct = 0;
  for (size_t i = 0; i < 250; ++i) {
    int best = 0;
    for (int k = 1; k < 10; ++k) {
      if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
    }
    CHECK(labels[i] == best);
    correct += labels[i] == test.labels[i];
  }
  // A model trained for 32 steps on 512 images is far better than chance (0.1).
  CHECK(correct > 100);
  auto acc = TestAccuracy(model, test, *cpu);
  REQUIRE(acc.ok());
  CHECK(*acc > 0.4);

  auto checker = Cpu(1);
  CheckEverySegment(r, *cpu, *checker);

  // Corruptions of an inference opening: a pixel, a weight, the slice proof.
  Opening o = *r.Open(3, *cpu);
  REQUIRE(o.slice->shape() == Shape{58, 28, 28});
  Opening pixel = o;
  pixel.slice->mutable_bytes()[100] ^= 1;
  CHECK(VerifyOpening(pixel, r.commitment()).message().find("not slice 3") != std::string::npos);
  Opening weight = o;
  weight.tensors["fc0.bias"].mutable_data<float>()[0] = 1.0f;
  CHECK(VerifyOpening(weight, r.commitment()).message().find("model has id") != std::string::npos);
  Opening short_slice = o;
  short_slice.slice = *Tensor::Zeros(DType::kU8, {57, 28, 28});
  CHECK(VerifyOpening(short_slice, r.commitment()).message().find("58 images") !=
        std::string::npos);
  CHECK(!Reexecute(short_slice, *cpu).ok());
  Opening no_model = o;
  no_model.tensors.clear();
  CHECK(!Reexecute(no_model, *cpu).ok());
}

TEST_CASE("infer job: a model, images or bounds that do not match the spec are refused") {
  auto cpu = Cpu();
  auto trained = Train(SmallTrainSpec(), *cpu);
  const TensorMap& model = trained->model();
  Tensor images = *Tensor::Zeros(DType::kU8, {10, 28, 28});
  JobSpec spec;
  spec.kind = JobKind::kInferClassifier;
  spec.infer = InferSpec{.model = ModelId(model), .count = 10, .slice_size = 4};
  spec.infer.images = *ImagesRoot(images, 4);
  CHECK(RunJob(spec, JobInputs{.model = &model, .images = &images}, *cpu).ok());

  TensorMap other = model;
  other["fc0.bias"].mutable_data<float>()[0] += 1;
  CHECK(RunJob(spec, JobInputs{.model = &other, .images = &images}, *cpu)
            .status()
            .message()
            .find("the spec orders") != std::string::npos);
  Tensor changed = images;
  changed.mutable_bytes()[0] = 1;
  CHECK(RunJob(spec, JobInputs{.model = &model, .images = &changed}, *cpu)
            .status()
            .message()
            .find("images' root") != std::string::npos);
  Tensor wrong_shape = *Tensor::Zeros(DType::kU8, {10, 28, 27});
  CHECK(RunJob(spec, JobInputs{.model = &model, .images = &wrong_shape}, *cpu)
            .status()
            .message()
            .find("[count, 28, 28]") != std::string::npos);
  Tensor floats = *Tensor::Zeros(DType::kF32, {10, 28, 28});
  CHECK(!RunJob(spec, JobInputs{.model = &model, .images = &floats}, *cpu).ok());
  Tensor fewer = *Tensor::Zeros(DType::kU8, {9, 28, 28});
  CHECK(!RunJob(spec, JobInputs{.model = &model, .images = &fewer}, *cpu).ok());
  CHECK(!RunJob(spec, JobInputs{}, *cpu).ok());
  TensorMap not_a_model = {{"x", *Tensor::Zeros(DType::kF32, {1})}};
  CHECK(!RunJob(spec, JobInputs{.model = &not_a_model, .images = &images}, *cpu).ok());

  // A slice too large for the 100 ms bound, with a big model.
  ClassifierArch wide{Architecture::kMlp, {1024}, {}};
  TensorMap big = InitialParameters(wide, 1);
  Tensor many = *Tensor::Zeros(DType::kU8, {5000, 28, 28});
  JobSpec heavy;
  heavy.kind = JobKind::kInferClassifier;
  heavy.infer = InferSpec{.model = ModelId(big), .count = 5000, .slice_size = 5000};
  heavy.infer.images = *ImagesRoot(many, 5000);
  auto r = RunJob(heavy, JobInputs{.model = &big, .images = &many}, *cpu);
  CHECK(r.status().code() == Code::kOutOfRange);
  CHECK(r.status().message().find("use slice_size <=") != std::string::npos);
}

TEST_CASE("trace: record encoding and root") {
  TraceRecord r{.index = 0x0102030405060708};
  r.input_hash.fill(0xaa);
  r.output_hash.fill(0xbb);
  Bytes e = EncodeTraceRecord(r);
  REQUIRE(e.size() == kTraceRecordBytes);
  CHECK(e[0] == 0x08);
  CHECK(e[7] == 0x01);
  CHECK(e[8] == 0xaa);
  CHECK(e[71] == 0xbb);
  std::vector<TraceRecord> one = {r};
  CHECK(TraceRoot(one) == MerkleLeafHash(e));
}

TEST_CASE("trace: TrainStateHash is the tagged hash of every tensor's row chunks") {
  // workloads.h's definition written out, each chunk copied into a tensor of its own, over
  // tensors cut at and around chunk boundaries: 682 rows per chunk (1000 rows: 682 + 318), one
  // row per chunk (8,192- and 4,100-byte rows), 2,048 per chunk (2,049 elements: 2,048 + 1),
  // and tensors that are one chunk (one row, a scalar, no rows).
  TensorMap state;
  uint32_t x = 99;
  auto add = [&](const std::string& name, Shape shape) {
    Tensor t = Tensor::Zeros(DType::kF32, std::move(shape)).value();
    for (uint8_t& b : t.mutable_bytes())
      b = static_cast<uint8_t>((x = x * 1664525u + 1013904223u) >> 24);
    state[name] = std::move(t);
  };
  add("adam_m/a", {1000, 3});
  add("b", {7, 2048});
  add("c", {33, 1025});
  add("d", {1, 5});
  add("e", {});
  add("f", {2049});
  add("g", {0, 3});
  Hash256 j;
  j.fill(0x42);
  ByteWriter w;
  w.Raw(j);
  w.U64(1234);
  w.U32(static_cast<uint32_t>(state.size()));
  size_t chunk_count = 0;
  for (const auto& [name, t] : state) {
    const int64_t row_bytes =
        t.rank() == 0 ? 4 : 4 * t.numel() / std::max<int64_t>(1, t.shape()[0]);
    const int64_t per = std::max<int64_t>(1, 8192 / std::max<int64_t>(1, row_bytes));
    std::vector<Hash256> chunks;
    if (t.rank() == 0 || t.shape()[0] <= per) {
      chunks.push_back(TensorHash(t));
    } else {
      for (int64_t begin = 0; begin < t.shape()[0]; begin += per) {
        Shape shape = t.shape();
        shape[0] = std::min(t.shape()[0], begin + per) - begin;
        Tensor chunk = Tensor::Zeros(DType::kF32, shape).value();
        std::copy_n(t.bytes().data() + begin * row_bytes, chunk.byte_size(),
                    chunk.mutable_bytes().data());
        chunks.push_back(TensorHash(chunk));
      }
    }
    chunk_count += chunks.size();
    w.LengthPrefixed(AsBytes(name));
    w.U32(static_cast<uint32_t>(chunks.size()));
    for (const Hash256& h : chunks) w.Raw(h);
  }
  CHECK(chunk_count == 2 + 7 + 33 + 1 + 1 + 2 + 1);
  CHECK(TrainStateHash(j, 1234, state) == TaggedHash("probity/train-state", w.bytes()));
  // Any bit of any chunk matters.
  state["c"].mutable_bytes()[32 * 4100 + 7] ^= 0x10;
  CHECK(TrainStateHash(j, 1234, state) != TaggedHash("probity/train-state", w.bytes()));
}

TEST_CASE("train job: pinned commitments (a change here changes what every verifier computes)") {
  auto cpu = Cpu();
  auto mlp = Train(SmallTrainSpec("mlp", "adam"), *cpu);
  auto cnn = Train(SmallTrainSpec("cnn", "sgd-momentum"), *cpu);
  // Computed once with the cpu backend (any thread count; the gpu tests check cuda against it).
  // Changing an op's order of operations, the data order, the initialisation or a hash format
  // changes these: that is a protocol change, to be made on purpose.
  CHECK(ToHex(mlp->commitment().output_hash) ==
        "bcfa8115676a97b81cc9801a7d90c601d87a7e68eba6af21bed3956530318dac");
  CHECK(ToHex(mlp->commitment().trace_root) ==
        "f971e348bd9750b82f94bd1db287dd9d748844a558184e4ef798bdfe90aa9358");
  CHECK(ToHex(cnn->commitment().output_hash) ==
        "bd069187d3af5763a78aeea4b57df6b0e22352b531d3753e36f4aca8cdf71f25");
  CHECK(ToHex(cnn->commitment().trace_root) ==
        "79e2fb02cc18c6e99bdfa8870ff3166823905033fe94c2390ccd65af83737a1d");
}
