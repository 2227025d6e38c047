// The verifier daemon's durable memory: where it is in the chain's event stream, which jobs it
// still has to look at, and which attestations it sent. A RocksDB database; every write is
// synced, and an event's cursor is written together with the job it names, so that a crash at
// any point loses neither.
//
//   "cursor"                               node.v1.EventCursor of the last event taken in
//   "p/" job_id:32                         a job to look at (named by an event, not finished)
//   "a/" job_id:32 u64be(attest_deadline)  an attestation sent and committed for the sampling
//                                          round whose attest deadline that was:
//                                          tx_id:32 u64le(height)
// The attest deadline tells the rounds of one job apart: a job the same verifier must attest
// again (after a withheld opening was posted on chain) has a new one.
//
// Thread-safety: every method is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probity/node/v1/node.pb.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace rocksdb {
class DB;
}

namespace probity::verifierd {

class VerifierState {
 public:
  // Opens (creating) the database at `path`. kIOError naming the path.
  static Result<std::unique_ptr<VerifierState>> Open(const std::string& path);
  ~VerifierState();

  Result<std::optional<node::v1::EventCursor>> Cursor() const;
  // Moves the cursor to `cursor` and, when given, marks `job` pending, in one write.
  Status TakeEvent(const node::v1::EventCursor& cursor, const std::optional<Hash256>& job);
  Status AddPending(const Hash256& job);
  Status Finish(const Hash256& job);
  Result<std::vector<Hash256>> Pending() const;

  struct Attestation {
    Hash256 tx_id{};
    uint64_t height = 0;
  };
  // Records the attestation and finishes the job, in one write.
  Status RecordAttestation(const Hash256& job, uint64_t attest_deadline, const Attestation& a);
  Result<std::optional<Attestation>> Attested(const Hash256& job, uint64_t attest_deadline) const;

 private:
  explicit VerifierState(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace probity::verifierd
