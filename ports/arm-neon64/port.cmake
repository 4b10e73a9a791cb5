# Port `arm-neon64`: xsimd::neon64; AArch64 always has Advanced SIMD, no extra flags.
edgeattn_port(arm-neon64 PROCESSORS "^(aarch64|arm64)$" RANK 20 SOURCES kernels.cpp XSIMD)
