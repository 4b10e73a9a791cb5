// The public view of the ports: their names, tiles and kernel names.
#include <cstdio>

#include "edgeattn/edgeattn.hpp"
#include "port_registry.hpp"

namespace edgeattn {
namespace {
PortInfo to_info(const KernelTable& t) {
  PortInfo info{};
  info.name = t.name;
  registry::kernel_name(t, registry::KernelOp::gemm, 0, info.gemm_kernel, sizeof(info.gemm_kernel));
  registry::kernel_name(t, registry::KernelOp::attend, 0, info.attention_kernel,
                        sizeof(info.attention_kernel));
  info.gemm_mr = t.gemm_mr;
  info.gemm_nr = t.gemm_nr;
  info.attn_query_tile = t.attn_tq;
  info.attn_kv_tile = t.attn_tk;
  info.cpu_supported = t.cpu_supports();
  registry::int8_kernel_name(t, t.int8_gemm(), info.int8_gemm_kernel,
                             sizeof(info.int8_gemm_kernel));
  return info;
}
}  // namespace

int port_count() {
  std::size_t n = 0;
  registry::tables(&n);
  return static_cast<int>(n);
}

PortInfo port_info(int index) {
  std::size_t n = 0;
  const KernelTable* const* tables = registry::tables(&n);
  if (index < 0 || static_cast<std::size_t>(index) >= n) index = static_cast<int>(n) - 1;
  return to_info(*tables[index]);
}

Status select_port(const char* requested, PortInfo* out) {
  char error[160];
  const KernelTable* t = registry::select(requested, error, sizeof(error));
  if (!t) return Status::error(StatusCode::unsupported, "%s", error);
  if (out) *out = to_info(*t);
  return Status();
}

}  // namespace edgeattn
