# Port `x86-avx512`: AVX-512F/BW/DQ/VL through xsimd::avx512bw; only kernels.cpp gets the flags,
# cpu.cpp (the CPUID and XCR0 check) is compiled for any x86-64. -Wno-(maybe-)uninitialized: GCC 12.2
# warns inside its own avx512fintrin.h (_mm512_undefined_ps: GCC bug 105593).
# Its weight panels are 48 columns wide: the layout packed blobs hold, known to every build.
edgeattn_pack_layout(x86-avx512 48)
edgeattn_port(x86-avx512 PROCESSORS "^(x86_64|AMD64|amd64)$" RANK 30 SOURCES kernels.cpp int8_vnni.cpp
              PLAIN_SOURCES cpu.cpp
              COMPILE_OPTIONS -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma
                              -Wno-maybe-uninitialized -Wno-uninitialized XSIMD)
# The int8 kernels with vpdpbusd: AVX512-VNNI is not part of the port's base ISA, so only this
# file may use it; the table picks it by CPUID (cpu_runs_avx512_vnni).
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/int8_vnni.cpp APPEND PROPERTY COMPILE_OPTIONS -mavx512vnni)
