#include "probity/primitives/status.h"

#include <doctest/doctest.h>

using namespace probity;

namespace {
Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd");
  return x / 2;
}
Result<int> Quarter(int x) {
  PROBITY_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}
Status Check(int x) {
  PROBITY_RETURN_IF_ERROR(Half(x).status());
  return Status::OK();
}
}  // namespace

TEST_CASE("status: codes, messages and context") {
  Status ok;
  CHECK(ok.ok());
  CHECK(ok.ToString() == "ok");
  Status s = Status::Corruption("bad block");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Code::kCorruption);
  CHECK(s.ToString() == "corruption: bad block");
  CHECK(s.WithContext("block 7").message() == "block 7: bad block");
  CHECK(ok.WithContext("x").ok());
  CHECK(CodeName(Code::kUnauthenticated) == "unauthenticated");
}

TEST_CASE("status: Result propagation") {
  CHECK(Quarter(8).value() == 2);
  CHECK_FALSE(Quarter(6).ok());
  CHECK(Quarter(6).status().message() == "odd");
  CHECK(Check(3).code() == Code::kInvalidArgument);
  CHECK(Check(4).ok());
}
