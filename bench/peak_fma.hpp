// The CPU's peak fused multiply-add rate, per vector width: the yardstick of "% of peak".
#pragma once

#include <vector>

namespace edgeattn::bench {

struct PeakFma {
  const char* name;                   // "fma512", "fma256", "fma128": the vector width in bits
  double (*chains)(long iterations);  // runs `iterations` rounds of independent FMA chains
  double flops_per_iteration;
};

// The widths this CPU runs, widest first (x86-64: 512 with AVX-512F, 256 with AVX2+FMA;
// elsewhere 128, what the target's compiler makes of four-float FMAs).
std::vector<PeakFma> peak_fma_variants();

}  // namespace edgeattn::bench
