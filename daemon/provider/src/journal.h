// The provider's job journal: what it knows about each job the chain assigned to it, the
// position it reached in the chain's event stream, and its calibration figures, in a RocksDB
// of its own (DIR/journal). Every write is synced before it returns, because the daemon writes
// a state *before* the step it announces becomes visible outside (a commit sent, a result
// served): after a crash the journal never claims less than what happened, so a job is
// never committed twice, and a job not yet computed is computed again.
//
// Journal states (provider/v1/journal.proto) and the transitions Advance allows:
//   ASSIGNED ─inputs checked─▶ INPUTS_COMPLETE ─slot─▶ RUNNING ─result stored─▶ COMPUTED
//   COMPUTED ─▶ COMMIT_SENT ─chain confirms─▶ COMMITTED ─▶ SETTLED | SLASHED
//   RUNNING ─▶ RUNNING (a crash mid-run: run again)       COMPUTED ─▶ RUNNING (result lost)
//   INPUTS_COMPLETE | RUNNING ─▶ ASSIGNED (an input blob was lost: upload it again)
//   COMMIT_SENT ─▶ COMMIT_SENT (resent after the chain showed it absent)
//   COMPUTED | COMMIT_SENT ─▶ COMMITTED (the chain already holds it)
//   any non-final ─▶ EXPIRED | FAILED; COMMIT_SENT ─▶ SLASHED
// SETTLED, SLASHED, EXPIRED and FAILED are final.
//
// Thread-safety: thread-safe (RocksDB is; callers serialise the read-modify-write of one job).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probity/node/v1/node.pb.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/provider/v1/journal.pb.h"

namespace rocksdb {
class DB;
}

namespace probity::provider {

using JournalJob = provider::v1::JournalJob;
using JournalState = provider::v1::JournalState;

// "assigned", "inputs-complete", "running", "computed", "commit-sent", "committed", "settled",
// "slashed", "expired", "failed".
std::string_view JournalStateName(JournalState state);
bool IsFinal(JournalState state);
bool TransitionAllowed(JournalState from, JournalState to);

class Journal {
 public:
  static Result<std::unique_ptr<Journal>> Open(const std::string& dir);
  ~Journal();

  // A job seen for the first time. kAlreadyExists when the journal has it.
  Status Create(const JournalJob& job);
  // Moves `job` (the caller's latest copy, other fields possibly updated too) to `to` and
  // writes it. kFailedPrecondition for a transition the table above does not allow (nothing
  // written), kNotFound for a job never created.
  Status Advance(JournalJob& job, JournalState to);
  // Rewrites the job's fields without changing its state (an input attached, a dispute
  // answered). kNotFound for a job never created.
  Status Update(const JournalJob& job);

  Result<std::optional<JournalJob>> Get(const Hash256& job_id) const;
  Result<std::vector<JournalJob>> All() const;

  // The last chain event the daemon finished handling.
  Status PutCursor(const node::v1::EventCursor& cursor);
  Result<std::optional<node::v1::EventCursor>> Cursor() const;

  // Calibrated throughput by a key naming the backend and hardware.
  Status PutCalibration(const std::string& key, uint64_t units_per_hour);
  Result<std::optional<uint64_t>> Calibration(const std::string& key) const;

 private:
  explicit Journal(rocksdb::DB* db);
  Status Write(const std::string& key, const std::string& value);
  Result<std::optional<std::string>> Read(const std::string& key) const;

  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace probity::provider
