// The ports of the build (the list CMake generates from ports/*/port.cmake) and the selection
// among them: an explicit request (API option), else EDGEATTN_PORT, else the best port the CPU
// supports. Done when a layer is created or a plan made; runs only follow the chosen table.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "port_registry.hpp"

namespace edgeattn {
// Defined by each port (EDGEATTN_REGISTER_PORT).
#define EDGEATTN_PORT(id) const KernelTable& port_table_##id();
#include "edgeattn_ports.inc"
#undef EDGEATTN_PORT
}  // namespace edgeattn

namespace edgeattn::registry {

const KernelTable* const* tables(std::size_t* count) {
  static const KernelTable* const kAll[] = {
#define EDGEATTN_PORT(id) &::edgeattn::port_table_##id(),
#include "edgeattn_ports.inc"
#undef EDGEATTN_PORT
  };
  *count = sizeof(kAll) / sizeof(kAll[0]);
  return kAll;
}

const KernelTable* select(const char* requested, char* error, std::size_t error_size) {
  std::size_t n = 0;
  const KernelTable* const* all = tables(&n);
  const char* want = requested && *requested ? requested : std::getenv("EDGEATTN_PORT");
  if (want && *want) {
    for (std::size_t i = 0; i < n; ++i) {
      if (std::strcmp(all[i]->name, want) != 0) continue;
      if (all[i]->cpu_supports()) return all[i];
      std::snprintf(error, error_size, "port '%s' is built in but this CPU cannot run it", want);
      return nullptr;
    }
    char names[96] = "";
    for (std::size_t i = 0; i < n; ++i) {
      std::strncat(names, i ? ", " : "", sizeof(names) - std::strlen(names) - 1);
      std::strncat(names, all[i]->name, sizeof(names) - std::strlen(names) - 1);
    }
    std::snprintf(error, error_size, "unknown port '%.40s' (this build has: %s)", want, names);
    return nullptr;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (all[i]->cpu_supports()) return all[i];
  return all[n - 1];  // generic, which every CPU runs
}

void kernel_name(const KernelTable& t, KernelOp op, int head_dim, char* out, std::size_t size,
                 const char* types) {
  char isa[32];
  std::snprintf(isa, sizeof(isa), "%s", t.name);
  for (char* c = isa; *c; ++c)
    if (*c == '-') *c = '_';
  char tile[32] = "";
  const char* name = "";
  switch (op) {
    case KernelOp::gemm:
      name = "gemm";
      std::snprintf(tile, sizeof(tile), "_%dx%d", t.gemm_mr, t.gemm_nr);
      break;
    case KernelOp::packb:
      name = "packb";
      std::snprintf(tile, sizeof(tile), "_%d", t.gemm_nr);
      break;
    case KernelOp::attend:
      name = "attend";
      std::snprintf(tile, sizeof(tile), "_%dx%d", t.attn_tq, t.attn_tk);
      break;
    case KernelOp::exp:
      name = "exp";
      break;
    case KernelOp::decode:
      name = "decode";
      break;
  }
  char hd[16] = "";
  if (head_dim > 0) std::snprintf(hd, sizeof(hd), "_hd%d", head_dim);
  std::snprintf(out, size, "%s_%s%s%s__%s", types, name, tile, hd, isa);
}

void int8_kernel_name(const KernelTable& t, const Int8Gemm& g, char* out, std::size_t size) {
  std::snprintf(out, size, "qd8_f32_qc8w_gemm_%dx%d__%s", g.mr, t.gemm_nr, g.isa);
}

namespace {
int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }
}  // namespace

int kt_pad_keys_all() {
  std::size_t n = 0;
  const KernelTable* const* all = tables(&n);
  int pad = 1;
  for (std::size_t i = 0; i < n; ++i)
    pad = pad / gcd(pad, all[i]->kt_pad_keys) * all[i]->kt_pad_keys;
  return pad;
}

int v_slack_floats_all() {
  std::size_t n = 0;
  const KernelTable* const* all = tables(&n);
  int slack = 0;
  for (std::size_t i = 0; i < n; ++i)
    slack = slack > all[i]->v_slack_floats ? slack : all[i]->v_slack_floats;
  return slack;
}

}  // namespace edgeattn::registry
