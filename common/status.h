// Status and Result<T>: errors are values until the program's edge.
//
// A Status is either OK (no allocation, cheap to copy) or a code plus a
// one-line human message. Result<T> holds a T or a non-OK Status. Functions
// that can fail return one of these; only main() and the event loop turn them
// into exit codes, log lines or protocol errors.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace lanswarm {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kInvalidArgument,  // the caller (a user, a flag, a config key) asked for something wrong
    kNotFound,
    kCorruption,       // stored or received bytes are not what they claim to be
    kIOError,          // the OS refused: open, read, write, rename...
    kUnsupported,      // well-formed but from a version or feature we do not speak
    kAlreadyExists,
    kResourceExhausted,
  };

  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status Unsupported(std::string_view msg) { return Status(Code::kUnsupported, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status ResourceExhausted(std::string_view msg) { return Status(Code::kResourceExhausted, msg); }
  // An OS error: "<what>: <strerror(err)>", code kIOError (kNotFound for ENOENT).
  static Status FromErrno(std::string_view what, int err);

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  // The message alone, without the code name; empty when OK.
  const std::string& message() const;
  // "<code name>: <message>", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status Prefixed(std::string_view prefix) const;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string_view msg);

  // Shared and immutable, so copies are cheap and OK costs one null pointer.
  std::shared_ptr<const Rep> rep_;
};

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "a Result built from a Status must carry an error");
    if (status_.ok()) status_ = Status::InvalidArgument("Result built from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace lanswarm

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define LANSWARM_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::lanswarm::Status lanswarm_status_ = (expr);        \
    if (!lanswarm_status_.ok()) return lanswarm_status_; \
  } while (0)
