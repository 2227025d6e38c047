// The buyer's duties (buyer.h).
#include "probity/buyer/buyer.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "probity/client/provider_client.h"
#include "probity/contracts/market.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/model.h"
#include "probity/workloads/tensor.h"
#include "probity/workloads/workloads.h"

namespace probity::buyer {
namespace {

namespace fs = std::filesystem;
using jobs::v1::JobState;

Hash256 H(const std::string& s) {
  Hash256 h{};
  if (s.size() == 32) std::copy(s.begin(), s.end(), h.begin());
  return h;
}
std::string S(ByteView b) { return std::string(b.begin(), b.end()); }

Status WriteSynced(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::IOError("cannot write " + tmp);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      ::close(fd);
      return Status::IOError("short write to " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Status::IOError("cannot sync " + tmp);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IOError("cannot rename " + tmp + ": " + ec.message());
  return Status::OK();
}

Result<std::string> ReadAll(const std::string& path) { return ledger::ReadFileToString(path); }

SecretKey CloneKey(const SecretKey& k) {
  auto copy = SecretKey::FromBytes(k.SecretBytes());  // a valid key's bytes are valid
  return std::move(*copy);
}

bool Terminal(const JobView& v) {
  return v.state == "settled" || v.state == "slashed" || v.state == "cancelled" ||
         (v.state == "expired" && v.order.status() == market::v1::ORDER_STATUS_CLOSED);
}

}  // namespace

std::string StateName(jobs::v1::JobState state) {
  switch (state) {
    case jobs::v1::JOB_STATE_OPEN:
      return "open";
    case jobs::v1::JOB_STATE_ASSIGNED:
      return "assigned";
    case jobs::v1::JOB_STATE_COMMITTED:
      return "committed";
    case jobs::v1::JOB_STATE_SAMPLED:
      return "sampled";
    case jobs::v1::JOB_STATE_VERIFIED:
      return "verified";
    case jobs::v1::JOB_STATE_SETTLED:
      return "settled";
    case jobs::v1::JOB_STATE_DISPUTED:
      return "disputed";
    case jobs::v1::JOB_STATE_SLASHED:
      return "slashed";
    case jobs::v1::JOB_STATE_EXPIRED:
      return "expired";
    case jobs::v1::JOB_STATE_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

Buyer::Buyer(std::string home, std::shared_ptr<const ledger::NodeClient> node,
             ledger::Genesis genesis, SecretKey key)
    : dir_(std::move(home) + "/buyer"),
      node_(node),
      reader_(node),
      sender_(node, std::move(genesis), CloneKey(key)),
      key_(std::move(key)) {}

Status Buyer::SaveRecord(const buyer::v1::BuyerJob& record) const {
  std::error_code ec;
  fs::create_directories(dir_ + "/jobs", ec);
  if (ec) return Status::IOError("cannot create " + dir_ + "/jobs: " + ec.message());
  return WriteSynced(dir_ + "/jobs/" + ToHex(AsBytes(record.secret_commitment())) + ".job",
                     record.SerializeAsString());
}

std::vector<buyer::v1::BuyerJob> Buyer::Records() const {
  std::vector<buyer::v1::BuyerJob> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/jobs", ec)) {
    if (e.path().extension() != ".job") continue;
    auto bytes = ReadAll(e.path().string());
    buyer::v1::BuyerJob r;
    if (bytes.ok() && r.ParseFromString(*bytes)) out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_unix_ms() < b.created_unix_ms(); });
  return out;
}

Result<buyer::v1::BuyerJob> Buyer::Record(const Hash256& job_id) const {
  for (auto& r : Records()) {
    if (r.job_id() == S(job_id)) return r;
  }
  return Status::NotFound("no local record of job " + ToHex(job_id) + " in " + dir_ +
                          "/jobs (was it submitted from this home?)");
}

Result<Hash256> Buyer::Submit(const JobRequest& request) {
  const workloads::JobSpec& spec = request.spec;
  PROBITY_RETURN_IF_ERROR(workloads::ValidateJobSpec(spec));
  std::vector<std::pair<provider::v1::BlobRole, Bytes>> blobs;
  blobs.emplace_back(provider::v1::BLOB_ROLE_SPEC, workloads::EncodeJobSpec(spec));
  workloads::TensorMap model;
  if (spec.kind == workloads::JobKind::kInferClassifier) {
    auto m = workloads::DecodeSafetensors(request.model_file);
    if (!m.ok()) return Status::InvalidArgument("the model file: " + m.status().message());
    PROBITY_RETURN_IF_ERROR(workloads::ArchitectureOf(*m).status());
    if (workloads::ModelId(*m) != spec.infer.model) {
      return Status::InvalidArgument("the model file's id " + ToHex(workloads::ModelId(*m)) +
                                     " is not the spec's model " + ToHex(spec.infer.model));
    }
    auto images = workloads::DecodeTensor(request.images_blob);
    if (!images.ok()) return Status::InvalidArgument("the images: " + images.status().message());
    PROBITY_ASSIGN_OR_RETURN(Hash256 root, workloads::ImagesRoot(*images, spec.infer.slice_size));
    if (root != spec.infer.images || images->shape()[0] != spec.infer.count) {
      return Status::InvalidArgument("the images are not the ones the spec names");
    }
    model = std::move(*m);
    blobs.emplace_back(provider::v1::BLOB_ROLE_MODEL, request.model_file);
    blobs.emplace_back(provider::v1::BLOB_ROLE_IMAGES, request.images_blob);
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t units,
                           workloads::JobUnits(spec, model.empty() ? nullptr : &model));
  PROBITY_ASSIGN_OR_RETURN(market::v1::Params mp, reader_.MarketParams());
  PROBITY_ASSIGN_OR_RETURN(uint64_t height, reader_.Height());
  uint32_t k =
      request.verification_level ? request.verification_level : mp.min_verification_level();
  uint64_t deadline = request.deadline_blocks;
  if (deadline == 0) {
    // Room for a slow provider: a block per 2 M units, within the market's bounds.
    deadline =
        std::clamp<uint64_t>(200 + units / 2, mp.min_deadline_blocks(), mp.max_deadline_blocks());
  }
  uint64_t lifetime =
      request.lifetime_blocks ? request.lifetime_blocks : mp.max_order_lifetime_blocks();

  verifier::Secret secret;
  PROBITY_RETURN_IF_ERROR(RandomBytes(secret.data(), secret.size()));
  buyer::v1::BuyerJob record;
  const Hash256 commitment = verifier::SecretCommitment(secret);
  record.set_secret_commitment(S(commitment));
  record.set_secret(S(secret));
  record.set_spec(S(blobs[0].second));
  record.set_units(units);
  record.set_max_price_per_unit(request.max_price_per_unit);
  record.set_verification_level(k);
  record.set_self_verify(request.self_verify);
  record.set_kind(spec.kind == workloads::JobKind::kTrainClassifier
                      ? market::v1::JOB_KIND_TRAIN_CLASSIFIER
                      : market::v1::JOB_KIND_INFER_CLASSIFIER);
  record.set_created_unix_ms(static_cast<int64_t>(client::NowUnixMs()));
  record.set_label(request.label);
  std::error_code ec;
  fs::create_directories(dir_ + "/blobs", ec);
  for (auto& [role, bytes] : blobs) {
    Hash256 sha = Sha256(bytes);
    auto* in = record.add_inputs();
    in->set_role(role);
    in->set_sha256(S(sha));
    in->set_size(bytes.size());
    PROBITY_RETURN_IF_ERROR(WriteSynced(dir_ + "/blobs/" + ToHex(sha), S(bytes)));
  }
  PROBITY_RETURN_IF_ERROR(SaveRecord(record));  // the secret is safe before the order exists

  market::v1::MsgPlaceOrder msg;
  msg.set_kind(record.kind());
  const Hash256 input_hash = workloads::JobInputHash(spec);
  msg.set_input_hash(S(input_hash));
  msg.set_units(units);
  msg.set_max_price_per_unit(request.max_price_per_unit);
  msg.set_verification_level(k);
  *msg.mutable_constraints() = request.constraints;
  msg.set_deadline_blocks(deadline);
  msg.set_secret_commitment(S(commitment));
  msg.set_self_verify(request.self_verify);
  msg.set_on_timeout(request.on_timeout);
  msg.set_expires_at(height + lifetime);
  PROBITY_ASSIGN_OR_RETURN(client::TxOutcome out, sender_.Send(msg));
  const Hash256 job_id = contracts::Market::OrderId(out.tx_id);
  record.set_job_id(S(job_id));
  record.set_order_tx_id(S(out.tx_id));
  PROBITY_RETURN_IF_ERROR(SaveRecord(record));
  return job_id;
}

Status Buyer::UploadInputs(buyer::v1::BuyerJob& record, const jobs::v1::Job& job) {
  PROBITY_ASSIGN_OR_RETURN(auto offer, reader_.Offer(H(job.offer_id())));
  if (!offer) return Status::NotFound("the job's offer is not on chain");
  client::ProviderClient provider(offer->endpoint(), H(job.provider()));
  for (const auto& in : record.inputs()) {
    PROBITY_ASSIGN_OR_RETURN(std::string bytes,
                             ReadAll(dir_ + "/blobs/" + ToHex(AsBytes(in.sha256()))));
    if (S(Sha256(AsBytes(bytes))) != in.sha256()) {
      return Status::Corruption("the local copy of an input blob is damaged: " + dir_ + "/blobs/" +
                                ToHex(AsBytes(in.sha256())));
    }
    PROBITY_RETURN_IF_ERROR(provider
                                .Upload(key_, H(job.id()),
                                        static_cast<provider::v1::BlobRole>(in.role()),
                                        AsBytes(bytes))
                                .status());
  }
  record.set_uploaded(true);
  record.set_uploaded_to(job.provider());
  return SaveRecord(record);
}

Result<JobView> Buyer::Advance(const Hash256& job_id) {
  JobView v;
  v.job_id = job_id;
  PROBITY_ASSIGN_OR_RETURN(auto order, reader_.Order(job_id));
  if (!order) return Status::NotFound("no order " + ToHex(job_id) + " on chain");
  v.order = *order;
  PROBITY_ASSIGN_OR_RETURN(v.job, reader_.Job(job_id));
  if (v.job && v.order.status() != market::v1::ORDER_STATUS_OPEN) {
    v.state = StateName(v.job->state());
  } else if (v.order.status() == market::v1::ORDER_STATUS_OPEN) {
    v.state = "open";
    v.note = v.job ? "re-opened: waiting for another provider" : "waiting for a provider";
  } else {
    v.state = "cancelled";
  }
  v.terminal = Terminal(v);
  if (v.terminal || !v.job) return v;

  auto rec = Record(job_id);
  if (!rec.ok()) {
    v.note = "no local record: this home cannot act for the job";
    return v;
  }
  buyer::v1::BuyerJob& record = *rec;
  const jobs::v1::Job& job = *v.job;
  if (job.state() == JobState::JOB_STATE_ASSIGNED) {
    if (!record.uploaded() || record.uploaded_to() != job.provider()) {
      Status s = UploadInputs(record, job);
      v.note = s.ok() ? "inputs uploaded; the provider computes" : "upload pending: " + s.message();
    } else {
      v.note = "the provider computes";
    }
  } else if (job.state() == JobState::JOB_STATE_COMMITTED) {
    // The seed uses the hash of block commit_height + 1, known from the block after it.
    auto height = reader_.Height();
    if (!job.revealed() && !record.revealed() &&
        !(height.ok() && *height < job.commit_height() + 1)) {
      jobs::v1::MsgReveal reveal;
      reveal.set_job_id(job.id());
      reveal.set_secret(record.secret());
      auto sent = sender_.Send(reveal);
      if (sent.ok()) {
        record.set_revealed(true);
        PROBITY_RETURN_IF_ERROR(SaveRecord(record));
        v.note = "secret revealed";
      } else {
        v.note = "reveal pending: " + sent.status().message();
      }
    } else {
      v.note = "waiting for the sampling seed";
    }
  } else if (job.state() == JobState::JOB_STATE_SAMPLED) {
    const bool mine = job.verifier() == S(sender_.account());
    if (mine && !record.attested()) {
      if (!self_verifier_) {
        v.note = "this buyer verifies the job itself, but no checker is available";
      } else {
        auto attest = self_verifier_(job);
        if (!attest.ok()) {
          v.note = "self-verification pending: " + attest.status().message();
        } else {
          auto sent = sender_.Send(*attest);
          if (sent.ok()) {
            record.set_attested(true);
            PROBITY_RETURN_IF_ERROR(SaveRecord(record));
            v.note = "self-verified and attested";
          } else {
            v.note = "attestation pending: " + sent.status().message();
          }
        }
      }
    } else {
      v.note = "the verifier re-executes " + std::to_string(job.sample_size()) + " segments";
    }
  } else if (job.state() == JobState::JOB_STATE_VERIFIED) {
    v.note = "verified; settles when the challenge window closes";
  } else if (job.state() == JobState::JOB_STATE_DISPUTED) {
    v.note = "disputed: the chain re-executes segment " + std::to_string(job.dispute().segment());
  }
  return v;
}

Result<JobView> Buyer::Wait(const Hash256& job_id, std::chrono::milliseconds timeout,
                            const std::function<void(const JobView&)>& on_change,
                            const std::string& until_state) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    auto v = Advance(job_id);
    if (!v.ok() && v.status().code() != Code::kUnavailable) return v.status();
    if (v.ok()) {
      std::string key = v->state + "|" + v->note;
      if (key != last && on_change) on_change(*v);
      last = key;
      if (v->terminal || (!until_state.empty() && v->state == until_state)) return v;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::DeadlineExceeded("job " + ToHex(job_id) + " is still " +
                                      (v.ok() ? v->state : std::string("unreachable")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
}

Result<workloads::JobResult> Buyer::FetchResult(const Hash256& job_id, Bytes* file) {
  PROBITY_ASSIGN_OR_RETURN(auto job, reader_.Job(job_id));
  if (!job || job->output_hash().size() != 32) {
    return Status::FailedPrecondition("job " + ToHex(job_id) + " has no committed output yet");
  }
  if (job->buyer() != S(sender_.account())) {
    return Status::PermissionDenied("only the job's buyer may download its result");
  }
  PROBITY_ASSIGN_OR_RETURN(auto rec, Record(job_id));
  PROBITY_ASSIGN_OR_RETURN(workloads::JobSpec spec, workloads::DecodeJobSpec(AsBytes(rec.spec())));
  PROBITY_ASSIGN_OR_RETURN(auto offer, reader_.Offer(H(job->offer_id())));
  if (!offer) return Status::NotFound("the job's offer is not on chain");
  client::ProviderClient provider(offer->endpoint(), H(job->provider()));
  const uint64_t limit = job->result_bytes() ? job->result_bytes() : (256u << 20);
  PROBITY_ASSIGN_OR_RETURN(Bytes bytes, provider.DownloadResult(key_, job_id, limit));
  PROBITY_ASSIGN_OR_RETURN(workloads::JobResult result,
                           workloads::VerifyJobResult(spec, H(job->output_hash()), bytes));
  if (file) *file = std::move(bytes);
  return result;
}

Result<client::TxOutcome> Buyer::Cancel(const Hash256& job_id) {
  market::v1::MsgCancelOrder msg;
  msg.set_order_id(S(job_id));
  return sender_.Send(msg);
}

}  // namespace probity::buyer
