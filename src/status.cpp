// Status formatting and version queries. Status keeps its message inline so that run() can
// report errors without allocating.
#include <cstdarg>
#include <cstdio>

#include "edgeattn/edgeattn.hpp"
#include "kernel_table.hpp"

namespace edgeattn {

const char* version() { return EDGEATTN_VERSION_STRING; }
int version_major() { return EDGEATTN_VERSION_MAJOR; }
int version_minor() { return EDGEATTN_VERSION_MINOR; }
int version_patch() { return EDGEATTN_VERSION_PATCH; }

namespace {
PortInfo to_info(const KernelTable& t) {
  return {t.name, t.gemm_kernel, t.gemm_mr, t.gemm_nr, t.attn_tq, t.attn_tk, t.cpu_supports()};
}
}  // namespace

int port_count() {
  std::size_t n = 0;
  port_tables(&n);
  return static_cast<int>(n);
}

PortInfo port_info(int index) {
  std::size_t n = 0;
  const KernelTable* const* tables = port_tables(&n);
  if (index < 0 || static_cast<std::size_t>(index) >= n) return to_info(port_generic());
  return to_info(*tables[index]);
}

Status select_port(const char* requested, PortInfo* out) {
  char error[160];
  const KernelTable* t = select_port(requested, error, sizeof(error));
  if (!t) return Status::error(StatusCode::unsupported, "%s", error);
  if (out) *out = to_info(*t);
  return Status();
}

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid_argument";
    case StatusCode::null_pointer: return "null_pointer";
    case StatusCode::shape_mismatch: return "shape_mismatch";
    case StatusCode::workspace_too_small: return "workspace_too_small";
    case StatusCode::size_overflow: return "size_overflow";
    case StatusCode::unsupported: return "unsupported";
    case StatusCode::out_of_memory: return "out_of_memory";
    case StatusCode::internal: return "internal";
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
