#include "verifier_state.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "probity/primitives/encoding.h"

namespace probity::verifierd {
namespace {

constexpr std::string_view kCursorKey = "cursor";
constexpr std::string_view kPendingPrefix = "p/";
constexpr std::string_view kAttestedPrefix = "a/";

std::string PendingKey(const Hash256& job) {
  std::string k(kPendingPrefix);
  k.append(reinterpret_cast<const char*>(job.data()), job.size());
  return k;
}

std::string AttestedKey(const Hash256& job, uint64_t deadline) {
  std::string k(kAttestedPrefix);
  k.append(reinterpret_cast<const char*>(job.data()), job.size());
  uint8_t be[8];
  PutU64BE(be, deadline);
  k.append(reinterpret_cast<const char*>(be), 8);
  return k;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  return Status::IOError("verifier state: " + std::string(what) + ": " + s.ToString());
}

rocksdb::WriteOptions Synced() {
  rocksdb::WriteOptions o;
  o.sync = true;
  return o;
}

}  // namespace

VerifierState::VerifierState(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
VerifierState::~VerifierState() = default;

Result<std::unique_ptr<VerifierState>> VerifierState::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.max_open_files = 64;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  if (!s.ok())
    return Status::IOError("cannot open the verifier state " + path + ": " + s.ToString());
  return std::unique_ptr<VerifierState>(new VerifierState(std::unique_ptr<rocksdb::DB>(db)));
}

Result<std::optional<node::v1::EventCursor>> VerifierState::Cursor() const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), std::string(kCursorKey), &value);
  if (s.IsNotFound()) return std::optional<node::v1::EventCursor>();
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "reading the cursor"));
  node::v1::EventCursor c;
  if (!c.ParseFromString(value)) return Status::Corruption("verifier state: the cursor is garbled");
  return std::optional<node::v1::EventCursor>(c);
}

Status VerifierState::TakeEvent(const node::v1::EventCursor& cursor,
                                const std::optional<Hash256>& job) {
  rocksdb::WriteBatch batch;
  std::string value;
  cursor.SerializeToString(&value);
  batch.Put(std::string(kCursorKey), value);
  if (job) batch.Put(PendingKey(*job), "");
  return FromRocks(db_->Write(Synced(), &batch), "saving the cursor");
}

Status VerifierState::AddPending(const Hash256& job) {
  return FromRocks(db_->Put(Synced(), PendingKey(job), ""), "queueing a job");
}

Status VerifierState::Finish(const Hash256& job) {
  return FromRocks(db_->Delete(Synced(), PendingKey(job)), "finishing a job");
}

Result<std::vector<Hash256>> VerifierState::Pending() const {
  std::vector<Hash256> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(kPendingPrefix)); it->Valid() && it->key().starts_with(kPendingPrefix);
       it->Next()) {
    if (it->key().size() != kPendingPrefix.size() + 32) {
      return Status::Corruption("verifier state: a pending key of the wrong length");
    }
    Hash256 id{};
    std::memcpy(id.data(), it->key().data() + kPendingPrefix.size(), 32);
    out.push_back(id);
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(it->status(), "listing pending jobs"));
  return out;
}

Status VerifierState::RecordAttestation(const Hash256& job, uint64_t attest_deadline,
                                        const Attestation& a) {
  rocksdb::WriteBatch batch;
  std::string value(reinterpret_cast<const char*>(a.tx_id.data()), 32);
  uint8_t le[8];
  PutU64LE(le, a.height);
  value.append(reinterpret_cast<const char*>(le), 8);
  batch.Put(AttestedKey(job, attest_deadline), value);
  batch.Delete(PendingKey(job));
  return FromRocks(db_->Write(Synced(), &batch), "recording an attestation");
}

Result<std::optional<VerifierState::Attestation>> VerifierState::Attested(
    const Hash256& job, uint64_t attest_deadline) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), AttestedKey(job, attest_deadline), &value);
  if (s.IsNotFound()) return std::optional<Attestation>();
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "reading an attestation"));
  if (value.size() != 40) return Status::Corruption("verifier state: a garbled attestation");
  Attestation a;
  std::memcpy(a.tx_id.data(), value.data(), 32);
  a.height = GetU64LE(reinterpret_cast<const uint8_t*>(value.data()) + 32);
  return std::optional<Attestation>(a);
}

}  // namespace probity::verifierd
