#include <cerrno>

#include <catch2/catch.hpp>

#include "common/status.h"

namespace lanswarm {

TEST_CASE("Status: default is OK and carries no message", "[status]") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == Status::Code::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("Status: named constructors keep code and message", "[status]") {
  Status s = Status::Corruption("chunk 3 checksum mismatch");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kCorruption);
  CHECK(s.message() == "chunk 3 checksum mismatch");
  CHECK(s.ToString() == "corruption: chunk 3 checksum mismatch");
  Status copy = s;
  CHECK(copy.message() == s.message());
}

TEST_CASE("Status: FromErrno maps ENOENT to NotFound and names the cause", "[status]") {
  Status s = Status::FromErrno("/no/such", ENOENT);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message() == "/no/such: No such file or directory");
  CHECK(Status::FromErrno("x", EACCES).code() == Status::Code::kIOError);
}

TEST_CASE("Status: Prefixed adds context and leaves OK alone", "[status]") {
  CHECK(Status::IOError("disk full").Prefixed("out.partial").message() == "out.partial: disk full");
  CHECK(Status::IOError("disk full").Prefixed("x").code() == Status::Code::kIOError);
  CHECK(Status::Ok().Prefixed("x").ok());
}

namespace {
Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}
Status Chain(int x, int* out) {
  auto r = Half(x);
  LANSWARM_RETURN_IF_ERROR(r.status());
  *out = *r;
  return Status::Ok();
}
}  // namespace

TEST_CASE("Result: holds a value or an error", "[status]") {
  auto good = Half(8);
  REQUIRE(good.ok());
  CHECK(*good == 4);
  CHECK(good.status().ok());
  auto bad = Half(3);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().message() == "odd");
}

TEST_CASE("RETURN_IF_ERROR returns the first failure", "[status]") {
  int out = 0;
  CHECK(Chain(6, &out).ok());
  CHECK(out == 3);
  out = -1;
  CHECK(Chain(5, &out).message() == "odd");
  CHECK(out == -1);
}

}  // namespace lanswarm
