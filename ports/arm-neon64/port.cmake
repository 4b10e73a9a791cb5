# Port `arm-neon64`: xsimd::neon64; AArch64 always has Advanced SIMD, no extra flags.
# Its weight panels are 12 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(arm-neon64 12)
edgeattn_port(arm-neon64 PROCESSORS "^(aarch64|arm64)$" RANK 20 SOURCES kernels.cpp XSIMD)
