// Content-addressed blob files: the inputs buyers upload and the results the provider hands
// back, each stored as DIR/<SHA-256 hex of its bytes>.
//
// A blob becomes visible only whole and checked: it is streamed into DIR/tmp/, its size and
// SHA-256 compared with what was announced, fsynced, renamed into place and the directory
// fsynced. A reader therefore never sees a partial blob, and a crash leaves at most a
// temporary file, removed at the next Open. Every read hashes the bytes again: a blob
// damaged on disk is removed, logged and reported as missing (kNotFound), never served.
//
// Thread-safety: thread-safe; a Writer is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "probity/primitives/bytes.h"
#include "probity/primitives/sha256.h"
#include "probity/primitives/status.h"

namespace probity::provider {

class BlobStore {
 public:
  // One upload in progress. Destroying it before Commit removes everything it wrote.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // kResourceExhausted when the bytes would exceed the announced size.
    Status Append(ByteView chunk);
    // Checks the size and SHA-256 against the announcement and makes the data durable in the
    // temporary file; the bytes stay readable through data() until Commit or destruction.
    // kInvalidArgument for a short blob, kCorruption for another hash.
    Status Finish();
    const Bytes& data() const { return data_; }
    // Renames the finished blob into place. REQUIRES: Finish() returned OK.
    Status Commit();

   private:
    friend class BlobStore;
    Writer(BlobStore* store, Hash256 sha256, uint64_t size, std::string tmp_path, int fd);
    void Abort();

    BlobStore* store_;
    Hash256 sha256_;
    uint64_t size_;
    std::string tmp_path_;
    int fd_;
    Bytes data_;
    Sha256Hasher hasher_;
    bool finished_ = false;
    bool committed_ = false;
  };

  // Creates DIR (and DIR/tmp) when missing and clears leftover temporary files.
  // `max_upload_bytes` limits Begin (not Put: results are the daemon's own).
  static Result<std::unique_ptr<BlobStore>> Open(const std::string& dir, uint64_t max_upload_bytes);

  // Starts receiving a blob announced as `size` bytes hashing to `sha256`.
  // kResourceExhausted above max_upload_bytes.
  Result<std::unique_ptr<Writer>> Begin(const Hash256& sha256, uint64_t size);
  // Stores `bytes` whole (atomically, as above) and returns its name.
  Result<Hash256> Put(ByteView bytes);
  // Whether a file of that name exists (its content is checked when read).
  bool Has(const Hash256& sha256) const;
  // The blob's bytes, hash re-checked. kNotFound when absent or found corrupted (then removed).
  Result<Bytes> Read(const Hash256& sha256);

  uint64_t max_upload_bytes() const { return max_upload_bytes_; }
  const std::string& dir() const { return dir_; }
  std::string PathOf(const Hash256& sha256) const;

 private:
  BlobStore(std::string dir, uint64_t max_upload_bytes)
      : dir_(std::move(dir)), max_upload_bytes_(max_upload_bytes) {}
  Result<std::pair<std::string, int>> NewTempFile();
  Status Publish(const std::string& tmp_path, const Hash256& sha256);

  const std::string dir_;
  const uint64_t max_upload_bytes_;
};

}  // namespace probity::provider
