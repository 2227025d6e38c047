#include "blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "probity/observe/observe.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keys.h"

namespace probity::provider {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, ByteView bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot sync", dir);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& dir,
                                                   uint64_t max_upload_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir + "/tmp", ec);
  if (ec) return Status::IOError("cannot create " + dir + "/tmp: " + ec.message());
  // Uploads cut short by a crash.
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/tmp", ec)) {
    std::filesystem::remove(entry.path(), ec);
  }
  return std::unique_ptr<BlobStore>(new BlobStore(dir, max_upload_bytes));
}

std::string BlobStore::PathOf(const Hash256& sha256) const { return dir_ + "/" + ToHex(sha256); }

bool BlobStore::Has(const Hash256& sha256) const {
  std::error_code ec;
  return std::filesystem::is_regular_file(PathOf(sha256), ec);
}

Result<std::pair<std::string, int>> BlobStore::NewTempFile() {
  uint8_t r[12];
  PROBITY_RETURN_IF_ERROR(RandomBytes(r, sizeof(r)));
  std::string path = dir_ + "/tmp/" + ToHex(ByteView(r, sizeof(r))) + ".part";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  return std::make_pair(path, fd);
}

Status BlobStore::Publish(const std::string& tmp_path, const Hash256& sha256) {
  const std::string path = PathOf(sha256);
  if (::rename(tmp_path.c_str(), path.c_str()) != 0) return Errno("cannot rename into", path);
  return SyncDir(dir_);
}

Result<std::unique_ptr<BlobStore::Writer>> BlobStore::Begin(const Hash256& sha256, uint64_t size) {
  if (size > max_upload_bytes_) {
    return Status::ResourceExhausted("a blob of " + std::to_string(size) +
                                     " bytes exceeds this provider's limit of " +
                                     std::to_string(max_upload_bytes_));
  }
  PROBITY_ASSIGN_OR_RETURN(auto tmp, NewTempFile());
  return std::unique_ptr<Writer>(new Writer(this, sha256, size, tmp.first, tmp.second));
}

Result<Hash256> BlobStore::Put(ByteView bytes) {
  const Hash256 sha = Sha256(bytes);
  if (Has(sha)) {
    // Already stored; a damaged copy is replaced below.
    if (Read(sha).ok()) return sha;
  }
  PROBITY_ASSIGN_OR_RETURN(auto tmp, NewTempFile());
  auto [path, fd] = tmp;
  Status s = WriteAll(fd, bytes, path);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("cannot sync", path);
  if (::close(fd) != 0 && s.ok()) s = Errno("cannot close", path);
  if (s.ok()) s = Publish(path, sha);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return s;
  }
  return sha;
}

Result<Bytes> BlobStore::Read(const Hash256& sha256) {
  const std::string path = PathOf(sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("blob " + ToHex(sha256) + " is not stored here");
    return Errno("cannot open", path);
  }
  Bytes data;
  uint8_t buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  ::close(fd);
  if (Sha256(data) != sha256) {
    observe::LogError("provider", "stored blob is corrupted; removed",
                      {{"blob", ToHex(sha256)}, {"path", path}});
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return Status::NotFound("blob " + ToHex(sha256) + " was corrupted on disk and was removed");
  }
  return data;
}

BlobStore::Writer::Writer(BlobStore* store, Hash256 sha256, uint64_t size, std::string tmp_path,
                          int fd)
    : store_(store), sha256_(sha256), size_(size), tmp_path_(std::move(tmp_path)), fd_(fd) {
  data_.reserve(static_cast<size_t>(size));
}

BlobStore::Writer::~Writer() {
  if (!committed_) Abort();
}

void BlobStore::Writer::Abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  std::filesystem::remove(tmp_path_, ec);
}

Status BlobStore::Writer::Append(ByteView chunk) {
  if (finished_ || fd_ < 0) return Status::FailedPrecondition("the upload is already finished");
  if (chunk.size() > size_ - data_.size()) {
    return Status::ResourceExhausted("the upload carries more than the announced " +
                                     std::to_string(size_) + " bytes");
  }
  PROBITY_RETURN_IF_ERROR(WriteAll(fd_, chunk, tmp_path_));
  hasher_.Update(chunk);
  data_.insert(data_.end(), chunk.begin(), chunk.end());
  return Status::OK();
}

Status BlobStore::Writer::Finish() {
  if (finished_ || fd_ < 0) return Status::FailedPrecondition("the upload is already finished");
  if (data_.size() != size_) {
    return Status::InvalidArgument("the upload ended after " + std::to_string(data_.size()) +
                                   " of the announced " + std::to_string(size_) + " bytes");
  }
  const Hash256 got = hasher_.Final();
  if (got != sha256_) {
    return Status::Corruption("the uploaded bytes hash to " + ToHex(got) + ", not the announced " +
                              ToHex(sha256_));
  }
  if (::fsync(fd_) != 0) return Errno("cannot sync", tmp_path_);
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Errno("cannot close", tmp_path_);
  finished_ = true;
  return Status::OK();
}

Status BlobStore::Writer::Commit() {
  if (!finished_) return Status::FailedPrecondition("Commit before a successful Finish");
  if (committed_) return Status::OK();
  PROBITY_RETURN_IF_ERROR(store_->Publish(tmp_path_, sha256_));
  committed_ = true;
  return Status::OK();
}

}  // namespace probity::provider
