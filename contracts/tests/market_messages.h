// TEST ONLY: builders of marketplace messages with sensible defaults, and the small genesis
// parameters the tests run under (short windows, small stakes).
#pragma once

#include <string>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/sha256.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/verifier/sampling.h"

namespace probity::contracts::testing {

inline constexpr std::string_view kMsgBond = "probity.staking.v1.MsgBond";
inline constexpr std::string_view kMsgUnbond = "probity.staking.v1.MsgUnbond";
inline constexpr std::string_view kMsgSetVerifier = "probity.staking.v1.MsgSetVerifier";
inline constexpr std::string_view kMsgPostOffer = "probity.market.v1.MsgPostOffer";
inline constexpr std::string_view kMsgUpdateOffer = "probity.market.v1.MsgUpdateOffer";
inline constexpr std::string_view kMsgCancelOffer = "probity.market.v1.MsgCancelOffer";
inline constexpr std::string_view kMsgPlaceOrder = "probity.market.v1.MsgPlaceOrder";
inline constexpr std::string_view kMsgCancelOrder = "probity.market.v1.MsgCancelOrder";
inline constexpr std::string_view kMsgCommit = "probity.jobs.v1.MsgCommit";
inline constexpr std::string_view kMsgReveal = "probity.jobs.v1.MsgReveal";
inline constexpr std::string_view kMsgAttest = "probity.jobs.v1.MsgAttest";
inline constexpr std::string_view kMsgChallenge = "probity.jobs.v1.MsgChallenge";
inline constexpr std::string_view kMsgPostOpening = "probity.jobs.v1.MsgPostOpening";

inline const char* kTestStaking =
    R"({"params":{"min_provider_stake":"10000","min_verifier_stake":"5000",
        "unbonding_blocks":"1000","jail_after_faults":3,"fault_window_blocks":"1000",
        "jail_blocks":"100","max_unbonding_entries":4}})";
inline const char* kTestMarket =
    R"({"params":{"max_price_per_unit":"1000000","max_units":"1000000",
        "min_verification_level":1,"max_verification_level":16,"verify_fee_per_sample":"100",
        "max_capacity":64,"max_order_lifetime_blocks":"1000","max_offer_lifetime_blocks":"100000",
        "min_deadline_blocks":"2","max_deadline_blocks":"1000","recent_trades":8,
        "max_match_scan":1000}})";
inline const char* kTestJobs =
    R"({"params":{"reveal_window_blocks":"4","attest_window_blocks":"5",
        "challenge_window_blocks":"6","opening_window_blocks":"5","challenge_bond":"5000",
        "cheat_slash_ppm":500000,"withhold_slash_ppm":400000,"commit_timeout_slash_ppm":10000,
        "negligent_verifier_slash_ppm":300000,"false_report_slash_ppm":100000,
        "attest_timeout_slash_ppm":20000,"challenger_reward_ppm":500000,
        "max_verifier_rounds":2,"max_segment_count":"100000","max_result_bytes":"1000000000",
        "max_opening_bytes":"4194304"}})";

inline market::v1::MsgPostOffer OfferMsg(uint64_t price, uint32_t capacity, uint64_t expires_at,
                                         std::string gpu = "h100", uint64_t memory_mib = 81920) {
  market::v1::MsgPostOffer m;
  auto* hw = m.mutable_hardware();
  hw->set_gpu_model(std::move(gpu));
  hw->set_gpu_count(1);
  hw->set_memory_mib(memory_mib);
  hw->set_compute_capability(90);
  hw->set_throughput(1000);
  auto* kp = m.add_prices();
  kp->set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  kp->set_price_per_unit(price);
  m.set_capacity(capacity);
  m.set_endpoint("provider.example:7100");
  m.set_expires_at(expires_at);
  return m;
}

inline verifier::Secret TestSecret(uint64_t i) {
  return Sha256("buyer secret " + std::to_string(i));
}

inline market::v1::MsgPlaceOrder OrderMsg(uint64_t max_price, uint64_t units, uint64_t expires_at,
                                          const Hash256& input_hash = {}, uint64_t secret = 0,
                                          uint32_t k = 2) {
  market::v1::MsgPlaceOrder m;
  m.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  m.set_input_hash(std::string(reinterpret_cast<const char*>(input_hash.data()), 32));
  m.set_units(units);
  m.set_max_price_per_unit(max_price);
  m.set_verification_level(k);
  m.set_deadline_blocks(50);
  const Hash256 c = verifier::SecretCommitment(TestSecret(secret));
  m.set_secret_commitment(std::string(reinterpret_cast<const char*>(c.data()), 32));
  m.set_on_timeout(market::v1::TIMEOUT_ACTION_REOPEN);
  m.set_expires_at(expires_at);
  return m;
}

inline staking::v1::MsgBond BondMsg(uint64_t amount) {
  staking::v1::MsgBond m;
  m.set_amount(amount);
  return m;
}

}  // namespace probity::contracts::testing
