// Status -> gRPC status (grpc_status.h).
#include "probity/ledger/grpc_status.h"

namespace probity::ledger {

grpc::Status ToGrpcStatus(const Status& s) {
  grpc::StatusCode c = grpc::StatusCode::INTERNAL;
  switch (s.code()) {
    case Code::kOk:
      return grpc::Status::OK;
    case Code::kInvalidArgument:
      c = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case Code::kNotFound:
      c = grpc::StatusCode::NOT_FOUND;
      break;
    case Code::kAlreadyExists:
      c = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case Code::kPermissionDenied:
      c = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case Code::kUnauthenticated:
      c = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case Code::kFailedPrecondition:
      c = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case Code::kResourceExhausted:
      c = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case Code::kOutOfRange:
      c = grpc::StatusCode::OUT_OF_RANGE;
      break;
    case Code::kUnavailable:
      c = grpc::StatusCode::UNAVAILABLE;
      break;
    case Code::kDeadlineExceeded:
      c = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case Code::kUnsupported:
      c = grpc::StatusCode::UNIMPLEMENTED;
      break;
    default:
      c = grpc::StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(c, s.message());
}

}  // namespace probity::ledger
