// White-box test helper: the kernel tables of the ports this build carries that this CPU can
// run (static builds only: the shared library exports no tables).
#pragma once

#include <cstddef>
#include <vector>

#include "port_registry.hpp"

namespace edgeattn::test {

inline std::vector<const KernelTable*> runnable_tables() {
  std::size_t n = 0;
  const KernelTable* const* t = registry::tables(&n);
  std::vector<const KernelTable*> out;
  for (std::size_t i = 0; i < n; ++i)
    if (t[i]->cpu_supports()) out.push_back(t[i]);
  return out;
}

}  // namespace edgeattn::test
