// Status and Result<T>: how every Probity component reports failure across a boundary.
//
// No exceptions cross a component boundary. A function that can fail returns a Status (or a
// Result<T> holding either a value or a non-OK Status). The code says what kind of failure it
// is, so that callers can branch on it; the message says what went wrong in words a person
// understands. gRPC status codes appear only at the service edge, converted from these.
//
// Three kinds of failure are kept apart (as libsecp256k1 does): bad data from outside is a
// Status (kInvalidArgument, kCorruption, ...); misuse by a caller inside the program is a
// Status too where it can be checked cheaply; a broken internal invariant aborts.
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace probity {

enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,     // malformed input: bad hex, bad length, unknown field
  kNotFound = 2,            // no such key, file, job, account
  kAlreadyExists = 3,       // would overwrite something that must not be overwritten
  kCorruption = 4,          // stored or received bytes fail an integrity check
  kPermissionDenied = 5,    // authenticated, but not allowed
  kUnauthenticated = 6,     // bad signature, wrong passphrase
  kFailedPrecondition = 7,  // state does not allow this now (wrong state, stale nonce)
  kResourceExhausted = 8,   // a size or count limit was hit
  kOutOfRange = 9,          // a number outside its allowed range
  kUnavailable = 10,        // a peer or service cannot be reached; retrying may help
  kDeadlineExceeded = 11,   // a timeout passed
  kIOError = 12,            // the operating system refused a read or write
  kInternal = 13,           // a bug or an unexpected library failure
  kUnsupported = 14,        // a valid request this build cannot serve (e.g. no CUDA)
};

// Stable lowercase name of a code, e.g. "invalid_argument". Used in logs and JSON output.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {Code::kResourceExhausted, std::move(m)};
  }
  static Status OutOfRange(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: bad hex digit at position 3"; "ok" for OK.
  std::string ToString() const;

  // Returns a copy whose message is "context: message". OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status. REQUIRES: a Result is never built from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) std::abort();   // invariant: OK carries a value
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace probity

// Return early from the enclosing function when `expr` yields a non-OK Status.
#define PROBITY_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::probity::Status probity_status_ = (expr);        \
    if (!probity_status_.ok()) return probity_status_; \
  } while (0)

#define PROBITY_CONCAT_INNER_(a, b) a##b
#define PROBITY_CONCAT_(a, b) PROBITY_CONCAT_INNER_(a, b)
// `PROBITY_ASSIGN_OR_RETURN(auto x, F());` binds the value or returns the error.
#define PROBITY_ASSIGN_OR_RETURN(lhs, expr) \
  PROBITY_ASSIGN_OR_RETURN_IMPL_(PROBITY_CONCAT_(probity_result_, __LINE__), lhs, expr)
#define PROBITY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
