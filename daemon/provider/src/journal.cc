#include "journal.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <chrono>

#include "probity/primitives/hex.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

using provider::v1::JournalState;
namespace pv = provider::v1;

constexpr std::string_view kJobPrefix = "job/";
constexpr std::string_view kCursorKey = "cursor";
constexpr std::string_view kCalibrationPrefix = "calibration/";

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  std::string m = "journal: " + what + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(m);
  return Status::IOError(m);
}

std::string JobKey(ByteView id) { return std::string(kJobPrefix) + ToHex(id); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view JournalStateName(JournalState state) {
  switch (state) {
    case pv::JOURNAL_STATE_ASSIGNED:
      return "assigned";
    case pv::JOURNAL_STATE_INPUTS_COMPLETE:
      return "inputs-complete";
    case pv::JOURNAL_STATE_RUNNING:
      return "running";
    case pv::JOURNAL_STATE_COMPUTED:
      return "computed";
    case pv::JOURNAL_STATE_COMMIT_SENT:
      return "commit-sent";
    case pv::JOURNAL_STATE_COMMITTED:
      return "committed";
    case pv::JOURNAL_STATE_SETTLED:
      return "settled";
    case pv::JOURNAL_STATE_SLASHED:
      return "slashed";
    case pv::JOURNAL_STATE_EXPIRED:
      return "expired";
    case pv::JOURNAL_STATE_FAILED:
      return "failed";
    default:
      return "unspecified";
  }
}

bool IsFinal(JournalState s) {
  return s == pv::JOURNAL_STATE_SETTLED || s == pv::JOURNAL_STATE_SLASHED ||
         s == pv::JOURNAL_STATE_EXPIRED || s == pv::JOURNAL_STATE_FAILED;
}

bool TransitionAllowed(JournalState from, JournalState to) {
  if (IsFinal(from) || from == pv::JOURNAL_STATE_UNSPECIFIED) return false;
  if (to == pv::JOURNAL_STATE_FAILED) return true;
  switch (from) {
    case pv::JOURNAL_STATE_ASSIGNED:
      return to == pv::JOURNAL_STATE_INPUTS_COMPLETE || to == pv::JOURNAL_STATE_EXPIRED;
    case pv::JOURNAL_STATE_INPUTS_COMPLETE:
      return to == pv::JOURNAL_STATE_RUNNING || to == pv::JOURNAL_STATE_ASSIGNED ||
             to == pv::JOURNAL_STATE_EXPIRED;
    case pv::JOURNAL_STATE_RUNNING:
      return to == pv::JOURNAL_STATE_RUNNING || to == pv::JOURNAL_STATE_COMPUTED ||
             to == pv::JOURNAL_STATE_ASSIGNED || to == pv::JOURNAL_STATE_EXPIRED;
    case pv::JOURNAL_STATE_COMPUTED:
      return to == pv::JOURNAL_STATE_RUNNING || to == pv::JOURNAL_STATE_COMMIT_SENT ||
             to == pv::JOURNAL_STATE_COMMITTED || to == pv::JOURNAL_STATE_EXPIRED;
    case pv::JOURNAL_STATE_COMMIT_SENT:
      return to == pv::JOURNAL_STATE_COMMIT_SENT || to == pv::JOURNAL_STATE_COMMITTED ||
             to == pv::JOURNAL_STATE_EXPIRED || to == pv::JOURNAL_STATE_SLASHED ||
             to == pv::JOURNAL_STATE_SETTLED;
    case pv::JOURNAL_STATE_COMMITTED:
      return to == pv::JOURNAL_STATE_SETTLED || to == pv::JOURNAL_STATE_SLASHED;
    default:
      return false;
  }
}

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  options.keep_log_file_num = 4;
  rocksdb::DB* db = nullptr;
  PROBITY_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, &db), "cannot open " + dir));
  return std::unique_ptr<Journal>(new Journal(db));
}

Journal::Journal(rocksdb::DB* db) : db_(db) {}
Journal::~Journal() = default;

Status Journal::Write(const std::string& key, const std::string& value) {
  rocksdb::WriteOptions w;
  w.sync = true;
  return FromRocks(db_->Put(w, key, value), "cannot write " + key);
}

Result<std::optional<std::string>> Journal::Read(const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  PROBITY_RETURN_IF_ERROR(FromRocks(s, "cannot read " + key));
  return std::optional<std::string>(std::move(value));
}

Status Journal::Create(const JournalJob& job) {
  if (job.job_id().size() != 32) return Status::InvalidArgument("journal: a job id is 32 bytes");
  if (job.state() != pv::JOURNAL_STATE_ASSIGNED) {
    return Status::InvalidArgument("journal: a job starts in state assigned");
  }
  const std::string key = JobKey(AsBytes(job.job_id()));
  PROBITY_ASSIGN_OR_RETURN(auto existing, Read(key));
  if (existing) return Status::AlreadyExists("journal: job " + ToHex(AsBytes(job.job_id())));
  JournalJob copy = job;
  copy.set_updated_unix_ms(NowMs());
  return Write(key, copy.SerializeAsString());
}

Status Journal::Update(const JournalJob& job) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256Field(job.job_id(), "journal: job id"));
  PROBITY_ASSIGN_OR_RETURN(auto current, Get(id));
  if (!current) return Status::NotFound("journal: no job " + ToHex(AsBytes(job.job_id())));
  if (current->state() != job.state()) {
    return Status::FailedPrecondition("journal: Update may not change the state of job " +
                                      ToHex(AsBytes(job.job_id())));
  }
  JournalJob copy = job;
  copy.set_updated_unix_ms(NowMs());
  return Write(JobKey(AsBytes(job.job_id())), copy.SerializeAsString());
}

Status Journal::Advance(JournalJob& job, JournalState to) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256Field(job.job_id(), "journal: job id"));
  PROBITY_ASSIGN_OR_RETURN(auto current, Get(id));
  if (!current) return Status::NotFound("journal: no job " + ToHex(AsBytes(job.job_id())));
  if (!TransitionAllowed(current->state(), to)) {
    return Status::FailedPrecondition("journal: job " + ToHex(AsBytes(job.job_id())) +
                                      " cannot go from " +
                                      std::string(JournalStateName(current->state())) + " to " +
                                      std::string(JournalStateName(to)));
  }
  JournalJob copy = job;
  copy.set_state(to);
  copy.set_updated_unix_ms(NowMs());
  PROBITY_RETURN_IF_ERROR(Write(JobKey(AsBytes(job.job_id())), copy.SerializeAsString()));
  job = std::move(copy);
  return Status::OK();
}

Result<std::optional<JournalJob>> Journal::Get(const Hash256& job_id) const {
  PROBITY_ASSIGN_OR_RETURN(auto value, Read(JobKey(job_id)));
  if (!value) return std::optional<JournalJob>();
  JournalJob job;
  if (!job.ParseFromString(*value)) {
    return Status::Corruption("journal: the record of job " + ToHex(job_id) + " does not parse");
  }
  return std::optional<JournalJob>(std::move(job));
}

Result<std::vector<JournalJob>> Journal::All() const {
  std::vector<JournalJob> jobs;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(std::string(kJobPrefix)); it->Valid() && it->key().starts_with(kJobPrefix);
       it->Next()) {
    JournalJob job;
    if (!job.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return Status::Corruption("journal: record " + it->key().ToString() + " does not parse");
    }
    jobs.push_back(std::move(job));
  }
  PROBITY_RETURN_IF_ERROR(FromRocks(it->status(), "cannot scan the jobs"));
  return jobs;
}

Status Journal::PutCursor(const node::v1::EventCursor& cursor) {
  return Write(std::string(kCursorKey), cursor.SerializeAsString());
}

Result<std::optional<node::v1::EventCursor>> Journal::Cursor() const {
  PROBITY_ASSIGN_OR_RETURN(auto value, Read(std::string(kCursorKey)));
  if (!value) return std::optional<node::v1::EventCursor>();
  node::v1::EventCursor cursor;
  if (!cursor.ParseFromString(*value))
    return Status::Corruption("journal: the cursor does not parse");
  return std::optional<node::v1::EventCursor>(std::move(cursor));
}

Status Journal::PutCalibration(const std::string& key, uint64_t units_per_hour) {
  return Write(std::string(kCalibrationPrefix) + key, std::to_string(units_per_hour));
}

Result<std::optional<uint64_t>> Journal::Calibration(const std::string& key) const {
  PROBITY_ASSIGN_OR_RETURN(auto value, Read(std::string(kCalibrationPrefix) + key));
  if (!value) return std::optional<uint64_t>();
  if (value->empty() || value->size() > 20 ||
      value->find_first_not_of("0123456789") != std::string::npos) {
    return Status::Corruption("journal: calibration " + key + " is not a number");
  }
  return std::optional<uint64_t>(std::stoull(*value));
}

}  // namespace probity::provider
