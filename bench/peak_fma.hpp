#pragma once
namespace edgeattn::bench {
// Runs `iterations` rounds of 12 independent FMA chains; returns a value to keep it alive.
double fma_chains(long iterations);
double fma_flops_per_iteration();
}  // namespace edgeattn::bench
