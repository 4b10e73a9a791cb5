// Status formatting and version queries. Status keeps its message inline so that run() can
// report errors without allocating.
#include <cstdarg>
#include <cstdio>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn {

const char* version() { return EDGEATTN_VERSION_STRING; }
int version_major() { return EDGEATTN_VERSION_MAJOR; }
int version_minor() { return EDGEATTN_VERSION_MINOR; }
int version_patch() { return EDGEATTN_VERSION_PATCH; }

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return "ok";
    case StatusCode::invalid_argument:
      return "invalid_argument";
    case StatusCode::null_pointer:
      return "null_pointer";
    case StatusCode::shape_mismatch:
      return "shape_mismatch";
    case StatusCode::workspace_too_small:
      return "workspace_too_small";
    case StatusCode::size_overflow:
      return "size_overflow";
    case StatusCode::unsupported:
      return "unsupported";
    case StatusCode::out_of_memory:
      return "out_of_memory";
    case StatusCode::internal:
      return "internal";
  }
  return "unknown";
}

Status Status::error(StatusCode code, const char* format, ...) {
  Status s;
  s.code_ = code;
  va_list args;
  va_start(args, format);
  std::vsnprintf(s.message_, sizeof(s.message_), format, args);
  va_end(args);
  return s;
}

}  // namespace edgeattn
