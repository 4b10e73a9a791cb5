# Port `arm-neon64`: xsimd::neon64 (ARMv8.0-A); AArch64 always has Advanced SIMD, no ISA flags.
# Its weight panels are 12 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(arm-neon64 12)
# -fno-schedule-insns except when tuned for the in-order Cortex-A53: GCC's first scheduling pass,
# tuned for the out-of-order A72/A76 (or generic), hoisted the lane-FMA micro-kernel's B loads
# (kernels/gemm_neon.hpp) and spilled accumulators to the stack; tuned for the A53 it keeps them
# in registers and spreads the loads among the FMAs, which that core needs (bench/models/).
if(EDGEATTN_CPU STREQUAL "cortex-a53")
  set(_neon64_flags "")
else()
  set(_neon64_flags -fno-schedule-insns)
endif()
edgeattn_port(arm-neon64 PROCESSORS "^(aarch64|arm64)$" RANK 20 SOURCES kernels.cpp
              COMPILE_OPTIONS ${_neon64_flags} XSIMD)
