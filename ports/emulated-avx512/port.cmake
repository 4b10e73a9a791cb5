# Port `emulated-avx512`, for the tests only (option EDGEATTN_EMULATED_AVX512, off by default):
# x86-avx512's tiles and masked tails over 16 plain-float lanes, runnable on any x86-64. Rank 0
# with generic, so it is never chosen unless asked for (x86-sse2 always ranks above it).
# Its weight panels are 48 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(emulated-avx512 48)
option(EDGEATTN_EMULATED_AVX512 "Build the emulated-avx512 test port (x86-avx512's tiles on any CPU)" OFF)
if(EDGEATTN_EMULATED_AVX512)
  edgeattn_port(emulated-avx512 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 0 SOURCES kernels.cpp)
endif()
