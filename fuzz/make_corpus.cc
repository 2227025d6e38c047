// Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the real encoders
// and the test vectors in tests/data: valid inputs of every kind each target reads, small
// enough to keep the committed corpus at a few kilobytes per target. Files are named by their
// content hash; every seed comes out the same in every run except the provider requests,
// whose signatures (client::SignProviderRequest) take fresh randomness.
//
// usage: make_corpus OUT_DIR TESTS_DATA_DIR      (scripts/fuzz.sh --corpus runs it)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fixtures.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/client/provider_client.h"
#include "probity/contracts/marketplace.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/block.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/tx.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/provider/v1/provider.pb.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/verifier/sim/provider_trace.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/safetensors.h"

namespace fs = std::filesystem;
using namespace probity;

namespace {

fs::path g_out;
int g_written = 0;

void Seed(const std::string& target, ByteView bytes) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream(dir / ToHex(Sha256(bytes)).substr(0, 16), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  ++g_written;
}
void Seed(const std::string& target, const std::string& text) { Seed(target, AsBytes(text)); }

Bytes Prefixed(uint8_t selector, ByteView rest) {
  Bytes b{selector};
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

std::string Field(ByteView b) { return std::string(b.begin(), b.end()); }

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "make_corpus: %s\n", r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

Bytes ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::vector<Bytes> Openings() {
  const auto& job = fuzz::InferJob();
  std::vector<Bytes> out;
  for (uint64_t i = 0; i < job.run->commitment().segment_count; ++i) {
    out.push_back(workloads::EncodeOpening(Must(job.run->Open(i, fuzz::Cpu()))));
  }
  return out;
}

void TxSeeds() {
  const auto& job = fuzz::InferJob();
  const Hash256 job_id = Sha256("fuzz job");
  bank::v1::MsgSend send;
  send.set_to(Field(fuzz::FixedKey(2).PublicKey()));
  send.set_amount(5);
  Seed("tx", fuzz::SignedTx(1, 1, "probity.bank.v1.MsgSend", send));
  staking::v1::MsgBond bond;
  bond.set_amount(1'000'000);
  Seed("tx", fuzz::SignedTx(1, 1, "probity.staking.v1.MsgBond", bond));
  market::v1::MsgPlaceOrder order;
  order.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  order.set_input_hash(Field(workloads::JobInputHash(job.spec)));
  order.set_units(100);
  order.set_max_price_per_unit(10);
  order.set_verification_level(4);
  order.set_deadline_blocks(50);
  order.set_secret_commitment(Field(Sha256("secret")));
  order.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
  order.set_expires_at(1000);
  Seed("tx", fuzz::SignedTx(1, 2, "probity.market.v1.MsgPlaceOrder", order));
  market::v1::MsgPostOffer offer;
  offer.mutable_hardware()->set_gpu_model("h100");
  offer.mutable_hardware()->set_gpu_count(1);
  auto* kp = offer.add_prices();
  kp->set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  kp->set_price_per_unit(10);
  offer.set_capacity(2);
  offer.set_endpoint("provider.example:7100");
  offer.set_expires_at(1000);
  Seed("tx", fuzz::SignedTx(2, 1, "probity.market.v1.MsgPostOffer", offer));
  const auto& c = job.run->commitment();
  jobs::v1::MsgCommit commit;
  commit.set_job_id(Field(job_id));
  commit.set_output_hash(Field(c.output_hash));
  commit.set_trace_root(Field(c.trace_root));
  commit.set_segment_count(c.segment_count);
  commit.set_result_bytes(4 * 44);
  Seed("tx", fuzz::SignedTx(2, 2, "probity.jobs.v1.MsgCommit", commit));
  jobs::v1::MsgAttest attest;
  attest.set_job_id(Field(job_id));
  std::vector<Hash256> leaves;
  for (const auto& r : job.run->records()) {
    leaves.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
  }
  for (uint64_t i : {2, 0}) {
    auto* sa = attest.add_segments();
    sa->set_index(i);
    const auto& r = job.run->records()[i];
    sa->set_input_hash(Field(r.input_hash));
    sa->set_output_hash(Field(r.output_hash));
    for (const auto& p : Must(MerkleInclusionProof(leaves, i))) sa->add_proof(Field(p));
    sa->set_recomputed_output_hash(Field(r.output_hash));
  }
  attest.add_segments()->set_withheld(true);
  Seed("tx", fuzz::SignedTx(4, 1, "probity.jobs.v1.MsgAttest", attest));
  jobs::v1::MsgPostOpening post;
  post.set_job_id(Field(job_id));
  const Bytes opening = Openings()[1];
  post.set_opening(Field(opening));
  Seed("tx", fuzz::SignedTx(2, 3, "probity.jobs.v1.MsgPostOpening", post));
  jobs::v1::MsgChallenge challenge;
  challenge.set_job_id(Field(job_id));
  challenge.set_segment(3);
  Seed("tx", fuzz::SignedTx(1, 3, "probity.jobs.v1.MsgChallenge", challenge));
}

void BlockSeeds() {
  bank::v1::MsgSend send;
  send.set_to(Field(fuzz::FixedKey(2).PublicKey()));
  send.set_amount(5);
  for (int n : {0, 1, 3}) {
    std::vector<Bytes> txs;
    std::vector<Hash256> ids;
    for (int i = 0; i < n; ++i) {
      txs.push_back(fuzz::SignedTx(1, i + 1, "probity.bank.v1.MsgSend", send));
      ids.push_back(ledger::TxId(txs.back()));
    }
    types::v1::BlockHeader h;
    h.set_chain_id(std::string(fuzz::kChainId));
    h.set_height(1 + n);
    h.set_time_unix_ms(1767225601000);
    h.set_prev_block_hash(std::string(32, '\0'));
    h.set_tx_root(Field(ledger::TxRoot(ids)));
    h.set_app_hash(Field(Sha256("app")));
    h.set_proposer(Field(fuzz::FixedKey(0).PublicKey()));
    h.set_tx_count(n);
    h.set_results_root(Field(Sha256("results")));
    h.set_block_events_hash(Field(Sha256("events")));
    const Bytes block = Must(ledger::SignBlock(h, txs, fuzz::FixedKey(0)));
    Seed("block", Prefixed(0, block));
    types::v1::Block parsed;
    if (!parsed.ParseFromArray(block.data(), static_cast<int>(block.size()))) std::exit(1);
    Bytes signed_header{1};
    fuzz::PutPart(signed_header, AsBytes(parsed.header()));
    const std::string& sig = parsed.proposer_signature();
    signed_header.insert(signed_header.end(), sig.begin(), sig.end());
    Seed("block", signed_header);
  }
}

void StateSeeds() {
  const auto& s = fuzz::State();
  for (size_t i = 0; i < s.proofs.size(); i += 8) {  // a few of each kind
    const auto& e = s.proofs[i];
    Bytes in;
    fuzz::PutPart(in, e.key);
    in.push_back(e.value ? 1 : 0);
    fuzz::PutPart(in, e.value ? ByteView(*e.value) : ByteView());
    in.insert(in.end(), e.proof.encoded.begin(), e.proof.encoded.end());
    Seed("state_proof", in);
  }
  for (size_t i = s.proofs.size() - 3; i < s.proofs.size(); ++i) {  // the absent keys
    const auto& e = s.proofs[i];
    Bytes in;
    fuzz::PutPart(in, e.key);
    in.push_back(0);
    fuzz::PutPart(in, ByteView());
    in.insert(in.end(), e.proof.encoded.begin(), e.proof.encoded.end());
    Seed("state_proof", in);
  }
}

void OpeningSeeds() {
  for (const auto& o : Openings()) Seed("opening", o);
  // A forged trace's opening: valid encoding, another commitment.
  const auto& job = fuzz::InferJob();
  auto inputs = Must(verifier::sim::InferJobInputs::Create(job.spec, job.model, job.images));
  auto forged = Must(verifier::sim::ProviderTrace::Build(inputs, *inputs, job.run->records(), {1},
                                                         7, fuzz::Cpu()));
  Seed("opening", workloads::EncodeOpening(Must(forged.Open(2))));
}

void SafetensorsSeeds() {
  Seed("safetensors", Must(workloads::EncodeSafetensors(fuzz::InferJob().model)));
  workloads::TensorMap small;
  small["labels"] =
      Must(workloads::Tensor::FromVector<int32_t>({3}, std::vector<int32_t>{1, 2, 3}));
  small["scale"] = Must(workloads::Tensor::FromVector<float>({}, std::vector<float>{0.5f}));
  Seed("safetensors", Must(workloads::EncodeSafetensors(small)));
  Seed("safetensors", Must(workloads::EncodeSafetensors({})));
}

Bytes Idx(const std::vector<uint32_t>& dims, ByteView payload) {
  Bytes b{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

void IdxSeeds(const fs::path& data) {
  // The first images and labels of the test set in tests/data.
  const Bytes images = ReadFile(data / "workloads" / "fmnist256-test-images-idx3-ubyte");
  const Bytes labels = ReadFile(data / "workloads" / "fmnist256-test-labels-idx1-ubyte");
  if (images.size() < 16 + 2 * 784 || labels.size() < 8 + 2) {
    std::fprintf(stderr, "make_corpus: tests/data/workloads is missing\n");
    std::exit(1);
  }
  const Bytes two_images = Idx({2, 28, 28}, ByteView(images).subspan(16, 2 * 784));
  const Bytes two_labels = Idx({2}, ByteView(labels).subspan(8, 2));
  Bytes pair;
  fuzz::PutPart(pair, two_images);
  pair.insert(pair.end(), two_labels.begin(), two_labels.end());
  Seed("idx", pair);
  Seed("idx", two_labels);
  Seed("idx", Idx({2, 2}, AsBytes("abcd")));
}

void Bech32mSeeds(const fs::path& data) {
  std::ifstream in(data / "bech32m" / "vectors.tsv");
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    const auto tab2 = line.find('\t', tab + 1);
    auto s = FromHex(line.substr(tab + 1, tab2 - tab - 1));
    if (s.ok()) Seed("bech32m", *s);
  }
  for (int i = 0; i < 3; ++i) Seed("bech32m", EncodeAddress(fuzz::FixedKey(i).PublicKey()));
}

void JobSpecSeeds() {
  for (const auto& spec :
       {workloads::ReferenceMlpSpec(), workloads::ReferenceCnnSpec(), fuzz::InferJob().spec}) {
    Seed("job_spec", Prefixed(0, AsBytes(workloads::FormatJobSpec(spec))));
    Seed("job_spec", Prefixed(1, workloads::EncodeJobSpec(spec)));
  }
}

void JobResultSeeds() {
  Seed("job_result", Must(workloads::EncodeJobResult(*fuzz::InferJob().run)));
}

void ConfigSeeds() {
  Seed("config", Prefixed(0, AsBytes(std::string_view(R"(# a node config
block_interval_ms = 100
empty_block_interval_ms = 0
verify_threads = 0
submit_wait_timeout_ms = 10_000
metrics_listen = "127.0.0.1:9100"
tls_cert_file = ""
[mempool]
max_txs = 50000
max_bytes = 67108864
max_per_sender = 256
backpressure_txs = 20000
[storage]
block_cache_mb = 256
state_cache_mb = 256
keep_recent_heights = 0
)"))));
  Seed("config",
       Prefixed(0, AsBytes(std::string_view("name = \"a\\u00e9\\n\" # x\nflag = true\n"))));
  ledger::Genesis g;
  g.chain_id = std::string(fuzz::kChainId);
  g.time_unix_ms = 1767225600000;
  g.proposer = fuzz::FixedKey(0).PublicKey();
  g.modules["bank"] = "{\"balances\":[{\"address\":\"" +
                      EncodeAddress(fuzz::FixedKey(1).PublicKey()) + "\",\"amount\":\"1000\"}]}";
  for (auto& [name, json] : contracts::MarketplaceDefaultGenesis()) g.modules[name] = json;
  Seed("config", Prefixed(1, AsBytes(ledger::GenesisToJson(g))));
  g.modules.clear();
  Seed("config", Prefixed(1, AsBytes(ledger::GenesisToJson(g))));
}

void ProviderSeeds() {
  namespace pv = provider::v1;
  const Hash256 job_id = Sha256("fuzz provider job");
  const XOnlyPubKey self = fuzz::FixedKey(2).PublicKey();
  auto seed = [](uint8_t what, uint8_t state, uint8_t signer, const std::string& msg) {
    Bytes b{what, state, signer};
    b.insert(b.end(), msg.begin(), msg.end());
    Seed("provider_request", b);
  };
  pv::GetOpeningRequest open;
  open.set_job_id(Field(job_id));
  open.set_segment(1);
  *open.mutable_auth() = client::SignProviderRequest(fuzz::FixedKey(3), "GetOpening", self, job_id,
                                                     client::OpeningBody(1), 1767225600000);
  seed(0, 1, 0, open.SerializeAsString());  // the request's own (stale) signature
  seed(0, 1, 1, open.SerializeAsString());  // signed by the buyer
  seed(0, 4, 3, open.SerializeAsString());  // a bonded auditor, during a dispute
  pv::JobStatusRequest status;
  status.set_job_id(Field(job_id));
  *status.mutable_auth() =
      client::SignProviderRequest(fuzz::FixedKey(3), "JobStatus", self, job_id, {}, 1767225600000);
  seed(1, 0, 1, status.SerializeAsString());
  seed(1, 2, 2, status.SerializeAsString());
  seed(2, 0, 0, pv::InfoRequest().SerializeAsString());
  const auto& job = fuzz::InferJob();
  seed(3, 0, 0, Field(workloads::EncodeJobSpec(job.spec)));
  seed(4, 0, 0, Field(Must(workloads::EncodeSafetensors(job.model))));
  seed(5, 0, 0, Field(workloads::EncodeTensor(job.images)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR TESTS_DATA_DIR\n");
    return 2;
  }
  g_out = argv[1];
  const fs::path data = argv[2];
  TxSeeds();
  BlockSeeds();
  StateSeeds();
  OpeningSeeds();
  SafetensorsSeeds();
  IdxSeeds(data);
  Bech32mSeeds(data);
  JobSpecSeeds();
  JobResultSeeds();
  ConfigSeeds();
  ProviderSeeds();
  std::printf("make_corpus: %d seeds in %s\n", g_written, g_out.c_str());
  return 0;
}
