// The job journal: what it says survives a reopen, and it refuses to go back on itself.
#include "journal.h"

#include <doctest/doctest.h>

#include "proto_bytes.h"
#include "temp_dir.h"

namespace probity::provider {
namespace {

namespace pv = provider::v1;
using testing::TempDir;

Hash256 Id(uint8_t n) {
  Hash256 h{};
  h[0] = n;
  return h;
}

JournalJob NewJob(uint8_t n) {
  JournalJob j;
  j.set_job_id(FieldOf(Id(n)));
  j.set_state(pv::JOURNAL_STATE_ASSIGNED);
  j.set_units(100 + n);
  return j;
}

TEST_CASE("job states, the cursor and calibrations persist across a reopen") {
  TempDir tmp;
  {
    auto journal = Journal::Open(tmp.path());
    REQUIRE(journal.ok());
    JournalJob a = NewJob(1);
    REQUIRE((*journal)->Create(a).ok());
    CHECK((*journal)->Create(a).code() == Code::kAlreadyExists);
    a.set_spec_sha256(std::string(32, 's'));
    REQUIRE((*journal)->Advance(a, pv::JOURNAL_STATE_INPUTS_COMPLETE).ok());
    REQUIRE((*journal)->Advance(a, pv::JOURNAL_STATE_RUNNING).ok());
    a.set_output_hash(std::string(32, 'o'));
    REQUIRE((*journal)->Advance(a, pv::JOURNAL_STATE_COMPUTED).ok());
    REQUIRE((*journal)->Advance(a, pv::JOURNAL_STATE_COMMIT_SENT).ok());
    CHECK(a.state() == pv::JOURNAL_STATE_COMMIT_SENT);
    REQUIRE((*journal)->Create(NewJob(2)).ok());
    node::v1::EventCursor c;
    c.set_height(42);
    c.set_slot(3);
    c.set_event_index(1);
    REQUIRE((*journal)->PutCursor(c).ok());
    REQUIRE((*journal)->PutCalibration("cpu/abc", 123456).ok());
  }
  auto journal = Journal::Open(tmp.path());
  REQUIRE(journal.ok());
  auto a = (*journal)->Get(Id(1));
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->state() == pv::JOURNAL_STATE_COMMIT_SENT);
  CHECK((*a)->spec_sha256() == std::string(32, 's'));
  CHECK((*a)->output_hash() == std::string(32, 'o'));
  CHECK((*a)->units() == 101);
  auto all = (*journal)->All();
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
  auto c = (*journal)->Cursor();
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  CHECK((*c)->height() == 42);
  CHECK((*c)->slot() == 3);
  CHECK((*c)->event_index() == 1);
  auto cal = (*journal)->Calibration("cpu/abc");
  REQUIRE(cal.ok());
  CHECK(cal->value_or(0) == 123456);
  CHECK(!(*journal)->Calibration("cuda/xyz")->has_value());
  CHECK(!(*journal)->Get(Id(9))->has_value());
}

TEST_CASE("a transition the table forbids is refused and nothing is written") {
  TempDir tmp;
  auto journal = Journal::Open(tmp.path());
  REQUIRE(journal.ok());
  JournalJob j = NewJob(1);
  REQUIRE((*journal)->Create(j).ok());
  // Straight to committed, or back from a later state: refused.
  JournalJob copy = j;
  CHECK((*journal)->Advance(copy, pv::JOURNAL_STATE_COMMITTED).code() == Code::kFailedPrecondition);
  CHECK(copy.state() == pv::JOURNAL_STATE_ASSIGNED);
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_INPUTS_COMPLETE).ok());
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_RUNNING).ok());
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_COMPUTED).ok());
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_COMMIT_SENT).ok());
  JournalJob stale = j;
  stale.set_state(pv::JOURNAL_STATE_COMMIT_SENT);
  CHECK((*journal)->Advance(stale, pv::JOURNAL_STATE_COMPUTED).code() == Code::kFailedPrecondition);
  CHECK((*journal)->Advance(stale, pv::JOURNAL_STATE_RUNNING).code() == Code::kFailedPrecondition);
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_COMMITTED).ok());
  REQUIRE((*journal)->Advance(j, pv::JOURNAL_STATE_SETTLED).ok());
  // Final: nothing moves it, not even FAILED; an Update may not change the state either.
  for (int s = pv::JOURNAL_STATE_ASSIGNED; s <= pv::JOURNAL_STATE_FAILED; ++s) {
    JournalJob again = j;
    CHECK((*journal)->Advance(again, static_cast<JournalState>(s)).code() ==
          Code::kFailedPrecondition);
  }
  JournalJob sneaky = j;
  sneaky.set_state(pv::JOURNAL_STATE_RUNNING);
  CHECK((*journal)->Update(sneaky).code() == Code::kFailedPrecondition);
  CHECK((*(*journal)->Get(Id(1)))->state() == pv::JOURNAL_STATE_SETTLED);
  // Unknown jobs and bad ids.
  JournalJob ghost = NewJob(7);
  CHECK((*journal)->Advance(ghost, pv::JOURNAL_STATE_FAILED).code() == Code::kNotFound);
  CHECK((*journal)->Update(ghost).code() == Code::kNotFound);
  JournalJob bad;
  bad.set_job_id("short");
  bad.set_state(pv::JOURNAL_STATE_ASSIGNED);
  CHECK((*journal)->Create(bad).code() == Code::kInvalidArgument);
}

TEST_CASE("the transition table: final states are final, every live state can fail") {
  for (int from = pv::JOURNAL_STATE_ASSIGNED; from <= pv::JOURNAL_STATE_FAILED; ++from) {
    const auto f = static_cast<JournalState>(from);
    CAPTURE(JournalStateName(f));
    CHECK(TransitionAllowed(f, pv::JOURNAL_STATE_FAILED) == !IsFinal(f));
    if (IsFinal(f)) {
      for (int to = pv::JOURNAL_STATE_ASSIGNED; to <= pv::JOURNAL_STATE_FAILED; ++to) {
        CHECK(!TransitionAllowed(f, static_cast<JournalState>(to)));
      }
    }
  }
  // A commit is only ever sent from a computed result.
  for (int from = pv::JOURNAL_STATE_ASSIGNED; from <= pv::JOURNAL_STATE_FAILED; ++from) {
    const auto f = static_cast<JournalState>(from);
    const bool allowed = TransitionAllowed(f, pv::JOURNAL_STATE_COMMIT_SENT);
    CHECK(allowed == (f == pv::JOURNAL_STATE_COMPUTED || f == pv::JOURNAL_STATE_COMMIT_SENT));
  }
  CHECK(JournalStateName(pv::JOURNAL_STATE_COMMIT_SENT) == "commit-sent");
}

}  // namespace
}  // namespace probity::provider
