# Port `x86-avx2`: AVX2 + FMA (+ F16C for f16 weights) through xsimd::fma3<xsimd::avx2>; only this file gets the flags.
# Its weight panels are 24 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(x86-avx2 24)
edgeattn_port(x86-avx2 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 20 SOURCES kernels.cpp
              PLAIN_SOURCES cpu.cpp
              COMPILE_OPTIONS -mavx2 -mfma -mf16c XSIMD)
