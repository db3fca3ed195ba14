#include "base/result.h"

namespace joey {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kAlreadyExists: return "already_exists";
    case ErrorKind::kPermissionDenied: return "permission_denied";
    case ErrorKind::kIo: return "io";
    case ErrorKind::kNetwork: return "network";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kAuth: return "auth";
    case ErrorKind::kRateLimited: return "rate_limited";
    case ErrorKind::kServer: return "server";
    case ErrorKind::kContextOverflow: return "context_overflow";
    case ErrorKind::kUnknownModel: return "unknown_model";
    case ErrorKind::kProtocol: return "protocol";
    case ErrorKind::kLimit: return "limit";
    case ErrorKind::kNeedsDecision: return "needs_decision";
    case ErrorKind::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace joey
