// Our Status as a gRPC status, at the edge of a gRPC service (the node's, the provider's): one
// mapping of codes for every service, so clients branch on the same codes everywhere.
// kCorruption, kIOError and kInternal become INTERNAL (the server's own data or disk failed);
// a service for which corruption means bad bytes from the caller maps that case itself.
#pragma once

#include <grpcpp/grpcpp.h>

#include "probity/primitives/status.h"

namespace probity::ledger {

grpc::Status ToGrpcStatus(const Status& s);

}  // namespace probity::ledger
