// The jobs module through the chain: a job's whole life, sampling, attestation, settlement,
// deadlines, and every kind of dispute, decided by the referee re-executing real segments.
#include "probity/contracts/jobs.h"

#include <doctest/doctest.h>

#include "job_fixture.h"

using namespace probity;
using namespace probity::contracts;
using namespace probity::contracts::testing;
using verifier::testing::ProviderTrace;

namespace {

uint64_t Bonded(Marketplace& m, int account) {
  auto s = m.Stake(account).stake();
  return s.bonded() + s.unbonding();
}

}  // namespace

TEST_CASE("an honest job runs from order to settlement and pays everyone") {
  JobFixture f;
  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(kBuyer));
  const uint64_t provider0 = f.m.Balance(Marketplace::Account(kProvider));
  Hash256 id = f.Order(3);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_ASSIGNED);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_COMMITTED);
  CHECK(f.m.Record(kProvider).committed() == 1);

  // Revealing in the commit's next block is too early: the seed needs that block's hash.
  auto early = f.Send(kBuyer, kMsgReveal, f.RevealMsg(id));
  CHECK(early.log().find("too early") != std::string::npos);
  f.Reveal(id);
  auto job = f.J(id);
  REQUIRE(job.sample_size() == 3);
  // Anyone can recompute the sample: verifier/sampling.h from the job id, the secret and the
  // hash of the block after the commit.
  const Hash256 seed = verifier::SampleSeed(id, TestSecret(1), FromField(job.seed_block_hash()));
  CHECK(FromField(job.seed()) == seed);
  auto indices = verifier::SampleIndices(seed, 8, 3).value();
  for (int i = 0; i < 3; ++i) CHECK(job.sample(i) == indices[i]);
  jobs::v1::QueryJobRequest q;
  q.set_job_id(HashBytes(id));
  jobs::v1::QuerySampleResponse sample;
  REQUIRE(ParseBytes(&sample, f.m.Query("jobs/sample", q)));
  CHECK(sample.indices_size() == 3);
  CHECK(sample.revealed());
  const int verifier = f.Verifier(id);
  CHECK((verifier == kVerifierA || verifier == kVerifierB));
  const uint64_t verifier0 = f.m.Balance(Marketplace::Account(verifier));

  f.Ok(verifier, kMsgAttest, f.Attestation(id, honest));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
  CHECK(f.J(id).attested());
  f.WaitWhile(id, jobs::v1::JOB_STATE_VERIFIED);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SETTLED);
  CHECK(f.SawEvent("jobs.settled"));
  // Provider: 50 units at the offer's 10; verifier: 3 samples at 100; buyer: the rest back.
  CHECK(f.m.Balance(Marketplace::Account(kProvider)) == provider0 - 2 /*fees*/ + 500);
  CHECK(f.m.Balance(Marketplace::Account(verifier)) == verifier0 - 1 + 300);
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) == buyer0 - 3 /*fees*/ - 500 - 300);
  CHECK(f.m.Order(id).status() == market::v1::ORDER_STATUS_CLOSED);
  auto rec = f.m.Record(kProvider);
  CHECK(rec.verified() == 1);
  CHECK(rec.settled() == 1);
  CHECK(rec.earned() == 500);
  CHECK(rec.slashed() == 0);
}

TEST_CASE("without a reveal in time, the block hash alone seeds the sample") {
  JobFixture f;
  Hash256 id = f.Order(2);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.WaitWhile(id, jobs::v1::JOB_STATE_COMMITTED);
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_SAMPLED);
  CHECK(!job.revealed());
  CHECK(FromField(job.seed()) ==
        verifier::SampleSeed(id, std::nullopt, FromField(job.seed_block_hash())));
  auto late = f.Send(kBuyer, kMsgReveal, f.RevealMsg(id));
  CHECK(late.log().find("too late") != std::string::npos);
}

TEST_CASE("a missed commit deadline: a small slash to the buyer, the order goes to another") {
  JobFixture f;
  f.Ok(kProvider2, kMsgPostOffer, OfferMsg(15, 4, f.m.height() + 10'000));
  Hash256 id = f.Order(2, false, market::v1::TIMEOUT_ACTION_REOPEN, 10, kProvider);
  CHECK(f.J(id).provider() == HashBytes(Marketplace::Account(kProvider)));
  const uint64_t stake0 = Bonded(f.m, kProvider);
  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(kBuyer));
  f.m.AdvanceTo(f.J(id).deadline());
  // 1% of 100,000 to the buyer; re-assigned, at once, to provider 2 (never provider 1 again).
  CHECK(Bonded(f.m, kProvider) == stake0 - 1'000);
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) == buyer0 + 1'000);
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_ASSIGNED);
  CHECK(job.attempt() == 2);
  CHECK(job.provider() == HashBytes(Marketplace::Account(kProvider2)));
  CHECK(job.price_per_unit() == 15);
  CHECK(f.m.Record(kProvider).expired() == 1);
  CHECK(f.m.Offer(FromField(f.m.Order(id).offer_id())).active() == 1);

  // With "refund", the escrow comes back instead.
  Hash256 id2 = f.Order(2, false, market::v1::TIMEOUT_ACTION_REFUND, 10, kProvider);
  const uint64_t buyer1 = f.m.Balance(Marketplace::Account(kBuyer));
  const uint64_t escrow = f.m.Order(id2).escrow();
  f.m.AdvanceTo(f.J(id2).deadline());
  CHECK(f.m.Job(id2).state() == jobs::v1::JOB_STATE_EXPIRED);
  CHECK(f.m.Order(id2).status() == market::v1::ORDER_STATUS_CLOSED);
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) > buyer1 + escrow);  // escrow and the slash
}

TEST_CASE("a verifier that re-executes a corrupted segment triggers the dispute that slashes") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace cheat(*f.job.run, {0, 1, 2, 3, 4, 5, 6, 7}, *f.cpu);  // skipped the work
  f.Commit(id, cheat);
  f.Reveal(id);
  const int verifier = f.Verifier(id);
  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(kBuyer));
  const uint64_t escrow = f.m.Order(id).escrow();
  const uint64_t stake0 = Bonded(f.m, kProvider);
  const uint64_t verifier0 = f.m.Balance(Marketplace::Account(verifier));
  f.Ok(verifier, kMsgAttest, f.Attestation(id, cheat));
  auto job = f.m.Job(id);
  REQUIRE(job.state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(job.job().dispute().kind() == jobs::v1::DISPUTE_KIND_MISMATCH);
  CHECK(job.job().dispute().segment() == job.job().sample(0));
  // The provider must open it on chain; the referee re-executes and convicts.
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, cheat, job.job().dispute().segment()));
  job = f.m.Job(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_SLASHED);
  CHECK(job.job().dispute().outcome() == jobs::v1::DISPUTE_OUTCOME_PROVIDER_SLASHED);
  CHECK(Bonded(f.m, kProvider) == stake0 / 2);
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) == buyer0 + escrow);  // refunded in full
  CHECK(f.m.Balance(Marketplace::Account(verifier)) == verifier0 - 1 + stake0 / 4);
  CHECK(f.m.Record(kProvider).slashed() == 1);
  CHECK(f.m.Order(id).escrow() == 0);
}

TEST_CASE("a lazy verifier's attestation of a wrong segment costs it when a challenge proves it") {
  JobFixture f;
  Hash256 id = f.Order(2);
  ProviderTrace cheat(*f.job.run, {0, 1, 2, 3, 4, 5, 6, 7}, *f.cpu);
  f.Commit(id, cheat);
  f.Reveal(id);
  const int verifier = f.Verifier(id);
  f.Ok(verifier, kMsgAttest, f.Attestation(id, cheat, /*lazy=*/true));
  REQUIRE(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
  const uint64_t segment = f.J(id).sample(1);
  const uint64_t verifier_stake0 = Bonded(f.m, verifier);
  const uint64_t provider_stake0 = Bonded(f.m, kProvider);
  const uint64_t challenger0 = f.m.Balance(Marketplace::Account(kChallenger));
  f.Ok(kChallenger, kMsgChallenge, f.ChallengeMsg(id, segment));
  REQUIRE(f.m.Job(id).state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(f.m.Balance(Jobs::ModuleAccount()) == 5'000);  // the bond
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, cheat, segment));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SLASHED);
  CHECK(Bonded(f.m, kProvider) == provider_stake0 / 2);
  CHECK(Bonded(f.m, verifier) == verifier_stake0 - verifier_stake0 * 3 / 10);
  // Bond back, plus half of both slashes.
  CHECK(f.m.Balance(Marketplace::Account(kChallenger)) ==
        challenger0 - 1 + provider_stake0 / 4 + verifier_stake0 * 3 / 20);
  CHECK(f.m.Balance(Jobs::ModuleAccount()) == 0);
}

TEST_CASE("a challenge of a correct segment costs the challenger its bond, the job settles") {
  JobFixture f;
  Hash256 id = f.Order(2);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  f.Ok(f.Verifier(id), kMsgAttest, f.Attestation(id, honest));
  const uint64_t settle_at = f.J(id).deadline();
  const uint64_t provider0 = f.m.Balance(Marketplace::Account(kProvider));
  const uint64_t challenger0 = f.m.Balance(Marketplace::Account(kChallenger));
  f.Ok(kChallenger, kMsgChallenge, f.ChallengeMsg(id, 5));
  const uint64_t raised = f.m.height();
  f.m.Block();
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, honest, 5));
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_VERIFIED);
  CHECK(job.dispute().outcome() == jobs::v1::DISPUTE_OUTCOME_CHALLENGER_LOST);
  CHECK(FromField(job.dispute().recomputed_output_hash()) == honest.records()[5].output_hash);
  CHECK(f.m.Balance(Marketplace::Account(kChallenger)) == challenger0 - 1 - 5'000);
  CHECK(f.m.Balance(Marketplace::Account(kProvider)) == provider0 - 1 + 5'000);
  // The challenge window resumes with what was left of it.
  CHECK(job.deadline() == f.m.height() + (settle_at - raised));
  CHECK(f.m.Record(kProvider).disputes_won() == 1);
  f.WaitWhile(id, jobs::v1::JOB_STATE_VERIFIED);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SETTLED);
}

TEST_CASE("withholding: no opening within the window slashes the provider") {
  JobFixture f;
  Hash256 id = f.Order(2);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  const uint64_t stake0 = Bonded(f.m, kProvider);
  const uint64_t challenger0 = f.m.Balance(Marketplace::Account(kChallenger));
  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(kBuyer));
  const uint64_t escrow = f.m.Order(id).escrow();
  f.Ok(kChallenger, kMsgChallenge, f.ChallengeMsg(id, 3));  // while still committed
  f.WaitWhile(id, jobs::v1::JOB_STATE_DISPUTED);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SLASHED);
  CHECK(Bonded(f.m, kProvider) == stake0 - stake0 * 4 / 10);
  CHECK(f.m.Balance(Marketplace::Account(kChallenger)) == challenger0 - 1 + stake0 * 2 / 10);
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) == buyer0 + escrow);
  // Too late now.
  auto late = f.Send(kProvider, kMsgPostOpening, f.OpeningMsg(id, honest, 3));
  CHECK(late.code() != 0);
}

TEST_CASE("a false mismatch report costs the verifier and brings another") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  const int liar = f.Verifier(id);
  const uint64_t lie_at = f.J(id).sample(1);
  const uint64_t liar_stake0 = Bonded(f.m, liar);
  f.Ok(liar, kMsgAttest, f.Attestation(id, honest, false, {}, {lie_at}));
  REQUIRE(f.m.Job(id).state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(f.J(id).dispute().segment() == lie_at);
  const uint64_t provider0 = f.m.Balance(Marketplace::Account(kProvider));
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, honest, lie_at));
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_SAMPLED);
  CHECK(Bonded(f.m, liar) == liar_stake0 - liar_stake0 / 10);
  CHECK(f.m.Balance(Marketplace::Account(kProvider)) == provider0 - 1 + liar_stake0 / 20);
  const int next = f.Verifier(id);
  CHECK(next != liar);
  CHECK(job.verifier_round() == 2);
  CHECK(job.proven_segments_size() == 1);
  f.Ok(next, kMsgAttest, f.Attestation(id, honest));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
}

TEST_CASE("a verifier that misses its window is slashed and replaced, then verified by default") {
  JobFixture f;
  Hash256 id = f.Order(2);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  const int first = f.Verifier(id);
  const uint64_t stake0 = Bonded(f.m, first);
  f.m.AdvanceTo(f.J(id).deadline());
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_SAMPLED);
  CHECK(job.verifier_round() == 2);
  const int second = f.Verifier(id);
  CHECK(second != first);
  CHECK(Bonded(f.m, first) == stake0 - stake0 / 50);  // 2%
  f.m.AdvanceTo(job.deadline());
  job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_VERIFIED);  // two rounds failed: by default
  CHECK(!job.attested());
  const uint64_t v2 = f.m.Balance(Marketplace::Account(second));
  f.WaitWhile(id, jobs::v1::JOB_STATE_VERIFIED);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SETTLED);
  CHECK(f.m.Balance(Marketplace::Account(second)) == v2);  // no fee without an attestation
}

TEST_CASE("a withheld opening reported by the verifier is opened on chain, it attests again") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  const int verifier = f.Verifier(id);
  const uint64_t withheld = f.J(id).sample(2);
  const uint64_t stake0 = Bonded(f.m, verifier);
  f.Ok(verifier, kMsgAttest, f.Attestation(id, honest, false, {withheld}));
  REQUIRE(f.J(id).dispute().kind() == jobs::v1::DISPUTE_KIND_WITHHELD);
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, honest, withheld));
  auto job = f.J(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_SAMPLED);
  CHECK(f.Verifier(id) == verifier);
  CHECK(Bonded(f.m, verifier) == stake0);
  // The proven segment needs no evidence now: even a "withheld" mark there is accepted.
  f.Ok(verifier, kMsgAttest, f.Attestation(id, honest, false, {withheld}));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
}

TEST_CASE("a self-verifying buyer escrows no fee, checks its own sample, and may dispute") {
  JobFixture f;
  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(kBuyer));
  Hash256 id = f.Order(2, /*self_verify=*/true);
  CHECK(f.m.Order(id).escrow() == 50 * 20);
  ProviderTrace cheat(*f.job.run, {0, 1, 2, 3, 4, 5, 6, 7}, *f.cpu);
  f.Commit(id, cheat);
  f.Reveal(id);
  CHECK(f.Verifier(id) == kBuyer);
  f.Ok(kBuyer, kMsgAttest, f.Attestation(id, cheat));
  REQUIRE(f.m.Job(id).state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(f.J(id).dispute().bond() == 5'000);       // the buyer has no stake at risk: a bond
  f.WaitWhile(id, jobs::v1::JOB_STATE_DISPUTED);  // the cheat cannot open a correct segment
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SLASHED);
  // Fees only; the escrow and the bond came back, plus the reward.
  CHECK(f.m.Balance(Marketplace::Account(kBuyer)) > buyer0);
}

TEST_CASE("bad jobs messages are rejected with a reason and change nothing") {
  HarnessOptions o = JobTestOptions();
  o.jobs_json =
      R"({"params":{"reveal_window_blocks":"200","attest_window_blocks":"200",
          "challenge_window_blocks":"200","opening_window_blocks":"200","challenge_bond":"5000",
          "cheat_slash_ppm":500000,"withhold_slash_ppm":400000,"commit_timeout_slash_ppm":10000,
          "negligent_verifier_slash_ppm":300000,"false_report_slash_ppm":100000,
          "attest_timeout_slash_ppm":20000,"challenger_reward_ppm":500000,
          "max_verifier_rounds":2,"max_segment_count":"100000","max_result_bytes":"1000000000",
          "max_opening_bytes":"4194304"}})";
  JobFixture f(o);
  f.deadline_blocks = 300;
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  // Jobs in four states: assigned, committed, sampled, and one whose deadline passed.
  const Hash256 assigned = f.Order(3);
  const Hash256 committed = f.Order(3);
  f.Commit(committed, honest);
  const Hash256 sampled = f.Order(3);
  f.Commit(sampled, honest);
  f.Reveal(sampled);
  f.deadline_blocks = 2;
  const Hash256 expired = f.Order(3, false, market::v1::TIMEOUT_ACTION_REFUND, 10, kProvider);
  f.m.AdvanceTo(f.J(expired).deadline());
  REQUIRE(f.m.Job(expired).state() == jobs::v1::JOB_STATE_EXPIRED);
  const int verifier = f.Verifier(sampled);
  const int other_verifier = verifier == kVerifierA ? kVerifierB : kVerifierA;

  struct Case {
    std::string what;
    int signer;
    std::string_view type;
    std::shared_ptr<google::protobuf::Message> msg;
    std::string reason;
  };
  auto commit = [&](const Hash256& id) {
    return std::make_shared<jobs::v1::MsgCommit>(JobFixture::CommitMsg(id, honest.commitment()));
  };
  std::vector<Case> cases;
  cases.push_back({"unknown job", kProvider, kMsgCommit, commit(Sha256("nothing")), "no job"});
  cases.push_back(
      {"commit by another", kProvider2, kMsgCommit, commit(assigned), "only the job's provider"});
  cases.push_back({"double commit", kProvider, kMsgCommit, commit(committed), "already committed"});
  cases.push_back({"commit too late", kProvider, kMsgCommit, commit(expired), "too late"});
  auto zero = commit(assigned);
  zero->set_segment_count(0);
  cases.push_back({"no segments", kProvider, kMsgCommit, zero, "segment_count"});
  auto huge = commit(assigned);
  huge->set_segment_count(100'001);
  cases.push_back({"too many segments", kProvider, kMsgCommit, huge, "exceeds 100000"});
  auto short_root = commit(assigned);
  short_root->set_trace_root("x");
  cases.push_back({"short trace root", kProvider, kMsgCommit, short_root, "trace_root"});

  cases.push_back({"reveal by another", kChallenger, kMsgReveal,
                   std::make_shared<jobs::v1::MsgReveal>(f.RevealMsg(committed)),
                   "only the job's buyer"});
  cases.push_back({"reveal before commit", kBuyer, kMsgReveal,
                   std::make_shared<jobs::v1::MsgReveal>(f.RevealMsg(assigned)),
                   "job is assigned; this needs committed"});
  cases.push_back({"wrong secret", kBuyer, kMsgReveal,
                   std::make_shared<jobs::v1::MsgReveal>(f.RevealMsg(committed, 2)),
                   "does not open"});
  cases.push_back({"reveal twice", kBuyer, kMsgReveal,
                   std::make_shared<jobs::v1::MsgReveal>(f.RevealMsg(sampled)),
                   "job is sampled; this needs committed"});

  auto good = f.Attestation(sampled, honest);
  cases.push_back({"attest by another", other_verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(good), "only the assigned verifier"});
  auto before_sample = good;
  before_sample.set_job_id(HashBytes(committed));
  cases.push_back({"attest before sampling", verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(before_sample), "this needs sampled"});
  auto fewer = good;
  fewer.mutable_segments()->RemoveLast();
  cases.push_back({"attest too few", verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(fewer), "3 were sampled"});
  auto reordered = good;
  reordered.mutable_segments()->SwapElements(0, 1);
  cases.push_back({"attest out of order", verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(reordered), "the sample has"});
  auto bad_proof = good;
  bad_proof.mutable_segments(1)->mutable_proof(0)->at(0) ^= 1;
  cases.push_back({"attest with a bad proof", verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(bad_proof), "not in the committed"});
  auto forged = good;
  forged.mutable_segments(0)->mutable_output_hash()->at(3) ^= 1;
  forged.mutable_segments(0)->mutable_recomputed_output_hash()->at(3) ^= 1;
  cases.push_back({"attest a forged record", verifier, kMsgAttest,
                   std::make_shared<jobs::v1::MsgAttest>(forged), "not in the committed"});

  cases.push_back({"challenge out of range", kChallenger, kMsgChallenge,
                   std::make_shared<jobs::v1::MsgChallenge>(f.ChallengeMsg(committed, 8)),
                   "segment 8 of a job with 8 segments"});
  cases.push_back({"challenge own job", kProvider, kMsgChallenge,
                   std::make_shared<jobs::v1::MsgChallenge>(f.ChallengeMsg(committed, 1)),
                   "cannot challenge its own job"});
  cases.push_back({"challenge before commit", kChallenger, kMsgChallenge,
                   std::make_shared<jobs::v1::MsgChallenge>(f.ChallengeMsg(assigned, 1)),
                   "before settlement"});
  cases.push_back({"opening without a dispute", kProvider, kMsgPostOpening,
                   std::make_shared<jobs::v1::MsgPostOpening>(f.OpeningMsg(committed, honest, 1)),
                   "this needs disputed"});
  auto garbage = f.OpeningMsg(committed, honest, 1);
  garbage.set_opening("PRBO garbage");
  cases.push_back({"opening that does not decode", kProvider, kMsgPostOpening,
                   std::make_shared<jobs::v1::MsgPostOpening>(garbage), "does not decode"});

  for (const auto& c : cases) {
    CAPTURE(c.what);
    const Hash256 before = f.m.ModuleStateDigest();
    auto r = f.Send(c.signer, c.type, *c.msg);
    CHECK(r.code() != 0);
    CHECK_MESSAGE(r.log().find(c.reason) != std::string::npos, r.log());
    CHECK(f.m.ModuleStateDigest() == before);
  }

  // Inside a dispute: an opening of another segment is not evidence and changes nothing.
  f.Ok(kChallenger, kMsgChallenge, f.ChallengeMsg(committed, 2));
  Hash256 before = f.m.ModuleStateDigest();
  auto r = f.Send(kProvider, kMsgPostOpening, f.OpeningMsg(committed, honest, 3));
  CHECK(r.log().find("is of segment 3, not 2") != std::string::npos);
  CHECK(f.m.ModuleStateDigest() == before);
  r = f.Send(kChallenger, kMsgChallenge, f.ChallengeMsg(committed, 4));
  CHECK(r.log().find("job is disputed") != std::string::npos);
  CHECK(f.m.ModuleStateDigest() == before);

  // After settlement nothing moves it again.
  f.Ok(verifier, kMsgAttest, good);
  f.WaitWhile(sampled, jobs::v1::JOB_STATE_VERIFIED, 300);
  REQUIRE(f.m.Job(sampled).state() == jobs::v1::JOB_STATE_SETTLED);
  before = f.m.ModuleStateDigest();
  r = f.Send(verifier, kMsgAttest, good);
  CHECK(r.log().find("job is settled") != std::string::npos);
  r = f.Send(kChallenger, kMsgChallenge, f.ChallengeMsg(sampled, 1));
  CHECK(r.log().find("job is settled") != std::string::npos);
  CHECK(f.m.ModuleStateDigest() == before);
}
