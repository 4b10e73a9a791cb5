# Port `x86-avx2`: AVX2 + FMA (+ F16C for f16 weights) through xsimd::fma3<xsimd::avx2>; only this file gets the flags.
edgeattn_port(x86-avx2 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 20 SOURCES kernels.cpp
              PLAIN_SOURCES cpu.cpp
              COMPILE_OPTIONS -mavx2 -mfma -mf16c XSIMD)
