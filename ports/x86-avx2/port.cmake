# Port `x86-avx2`: AVX2 + FMA (+ F16C for f16 weights) through xsimd::fma3<xsimd::avx2>; only its kernel files get the flags.
# Its weight panels are 24 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(x86-avx2 24)
edgeattn_port(x86-avx2 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 20 SOURCES kernels.cpp int8_avxvnni.cpp int8_avx512vnni.cpp
              PLAIN_SOURCES cpu.cpp
              COMPILE_OPTIONS -mavx2 -mfma -mf16c XSIMD)
# The int8 kernels with vpdpbusd on ymm: AVX-VNNI and AVX512-VNNI are not part of the port's base
# ISA, so only these files may use them; the table picks them by CPUID (cpu.cpp).
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/int8_avxvnni.cpp APPEND PROPERTY COMPILE_OPTIONS -mavxvnni)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/int8_avx512vnni.cpp APPEND PROPERTY COMPILE_OPTIONS
             -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni -Wno-maybe-uninitialized
             -Wno-uninitialized)
