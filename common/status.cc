#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace lanswarm {

namespace {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kAlreadyExists: return "already exists";
    case Status::Code::kResourceExhausted: return "resource exhausted";
  }
  return "unknown";
}

}  // namespace

Status::Status(Code code, std::string_view msg)
    : rep_(std::make_shared<const Rep>(Rep{code, std::string(msg)})) {}

Status Status::FromErrno(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return Status(err == ENOENT ? Code::kNotFound : Code::kIOError, msg);
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(rep_->code)) + ": " + rep_->message;
}

Status Status::Prefixed(std::string_view prefix) const {
  if (ok()) return *this;
  std::string msg(prefix);
  msg += ": ";
  msg += rep_->message;
  return Status(rep_->code, msg);
}

}  // namespace lanswarm
