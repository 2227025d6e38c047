// The buyer's side of a job (docs/buyers.md): place the order with a fresh sampling secret,
// hand the inputs to the provider the market assigns, reveal the secret once the provider has
// committed, verify the sample itself when it chose to, and fetch the result checked against
// the commitment. `probity job ...` and `probity devnet` are thin layers over this.
//
// Every duty is idempotent and driven by the chain's view of the job (Advance), so a buyer
// that crashed, or runs `probity job wait` hours later, picks up where the job stands. The
// local record (buyer.proto) is written and synced before anything it enables is sent.
//
// Thread-safety: a Buyer is used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probity/buyer/v1/buyer.pb.h"
#include "probity/client/chain.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/job_spec.h"

namespace probity::buyer {

struct JobRequest {
  workloads::JobSpec spec;
  // infer-classifier: the model (safetensors bytes) and the images (a u8 [count, 28, 28]
  // tensor's canonical encoding); the spec must name them (model id, images root).
  Bytes model_file;
  Bytes images_blob;
  uint64_t max_price_per_unit = 0;
  uint32_t verification_level = 0;  // 0 = the market's minimum
  bool self_verify = false;
  uint64_t deadline_blocks = 0;  // 0 = a deadline from the job's size
  uint64_t lifetime_blocks = 0;  // 0 = the market's maximum order lifetime
  market::v1::HardwareConstraints constraints;
  market::v1::TimeoutAction on_timeout = market::v1::TIMEOUT_ACTION_REOPEN;
  std::string label;
};

// Where a job stands, for people and for JSON.
struct JobView {
  Hash256 job_id{};
  market::v1::Order order;
  std::optional<jobs::v1::Job> job;  // absent while the order waits in the book
  std::string state;                 // "open", "assigned", "committed", ... (lower case)
  bool terminal = false;             // settled, slashed, cancelled, expired-and-refunded
  std::string note;                  // what the buyer did or waits for
};

// Self-verification: returns the attestation for a SAMPLED job (the verifier's check, run by
// the buyer). Given by the caller so that this library does not depend on the verifier daemon.
using SelfVerifier = std::function<Result<jobs::v1::MsgAttest>(const jobs::v1::Job&)>;

class Buyer {
 public:
  // `home` is the buyer's directory (records under home/buyer/).
  Buyer(std::string home, std::shared_ptr<const ledger::NodeClient> node, ledger::Genesis genesis,
        SecretKey key);

  const XOnlyPubKey& account() const { return sender_.account(); }
  client::ChainReader& chain() { return reader_; }
  const SecretKey& key() const { return key_; }
  void set_self_verifier(SelfVerifier v) { self_verifier_ = std::move(v); }

  // Validates the request (spec, inputs matching it, units from the cost model), writes the
  // record with a fresh secret and places the order. Returns the job id.
  Result<Hash256> Submit(const JobRequest& request);

  // Does what the buyer owes the job now (upload, reveal, self-verify) and returns its state.
  Result<JobView> Advance(const Hash256& job_id);

  // Advances until the job is terminal, or `until_state` is reached (e.g. "verified"), or the
  // timeout passes (kDeadlineExceeded). `on_change` sees every new state.
  Result<JobView> Wait(const Hash256& job_id, std::chrono::milliseconds timeout,
                       const std::function<void(const JobView&)>& on_change = {},
                       const std::string& until_state = "");

  // Downloads the result from the provider and checks it against the on-chain commitment.
  Result<workloads::JobResult> FetchResult(const Hash256& job_id, Bytes* file = nullptr);

  // Cancels an order still in the book (its escrow comes back).
  Result<client::TxOutcome> Cancel(const Hash256& job_id);

  Result<buyer::v1::BuyerJob> Record(const Hash256& job_id) const;
  std::vector<buyer::v1::BuyerJob> Records() const;

 private:
  Status SaveRecord(const buyer::v1::BuyerJob& record) const;
  Status UploadInputs(buyer::v1::BuyerJob& record, const jobs::v1::Job& job);

  std::string dir_;
  std::shared_ptr<const ledger::NodeClient> node_;
  client::ChainReader reader_;
  client::TxSender sender_;
  SecretKey key_;
  SelfVerifier self_verifier_;
};

// Lower-case name of a job state ("open", "assigned", "committed", "sampled", "verified",
// "settled", "disputed", "slashed", "expired", "cancelled").
std::string StateName(jobs::v1::JobState state);

}  // namespace probity::buyer
