// The arm-neon64-fp16dot port's CPU check (cpu.cpp, compiled for any AArch64 CPU).
#pragma once

namespace edgeattn::arm64 {

// Whether AT_HWCAP bits `hwcap` include fp16 Advanced SIMD arithmetic (ASIMDHP) and the dot
// products (ASIMDDP), the two extensions the port's kernels use.
bool fp16dot_usable(unsigned long hwcap);
unsigned long read_hwcap();
bool cpu_runs_fp16dot();

}  // namespace edgeattn::arm64
