// Port selection: an explicit request (API option), else EDGEATTN_PORT, else the best port
// the CPU supports. Done once per layer at create(); run() only follows the chosen table.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernel_table.hpp"

namespace edgeattn {

const KernelTable* const* port_tables(std::size_t* count) {
  static const KernelTable* const tables[] = {
#if defined(EDGEATTN_HAVE_PORT_X86_AVX2)
      &port_x86_avx2(),
#endif
#if defined(EDGEATTN_HAVE_PORT_X86_SSE2)
      &port_x86_sse2(),
#endif
#if defined(EDGEATTN_HAVE_PORT_ARM_NEON64)
      &port_arm_neon64(),
#endif
#if defined(EDGEATTN_HAVE_PORT_ARM_NEON32)
      &port_arm_neon32(),
#endif
      &port_generic(),
  };
  *count = sizeof(tables) / sizeof(tables[0]);
  return tables;
}

const KernelTable* select_port(const char* requested, char* error, std::size_t error_size) {
  std::size_t n = 0;
  const KernelTable* const* tables = port_tables(&n);
  const char* want = requested && *requested ? requested : std::getenv("EDGEATTN_PORT");
  if (want && *want) {
    for (std::size_t i = 0; i < n; ++i) {
      if (std::strcmp(tables[i]->name, want) != 0) continue;
      if (tables[i]->cpu_supports()) return tables[i];
      std::snprintf(error, error_size, "port '%s' is built in but this CPU cannot run it", want);
      return nullptr;
    }
    char names[96] = "";
    for (std::size_t i = 0; i < n; ++i) {
      std::strncat(names, i ? ", " : "", sizeof(names) - std::strlen(names) - 1);
      std::strncat(names, tables[i]->name, sizeof(names) - std::strlen(names) - 1);
    }
    std::snprintf(error, error_size, "unknown port '%.40s' (this build has: %s)", want, names);
    return nullptr;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (tables[i]->cpu_supports()) return tables[i];
  return &port_generic();
}

}  // namespace edgeattn
