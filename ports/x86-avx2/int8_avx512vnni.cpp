// The x86-avx2 port's int8 projection kernels with vpdpbusd on ymm, EVEX-encoded (AVX512-VNNI
// + VL: Cascade Lake, Ice Lake, Zen 4), for when this port runs on such a CPU (forced, or
// chosen to keep zmm registers off): compiled with -mavx512vnni -mavx512vl, reached only where
// CPUID and the OS allow it (cpu.cpp). The same source as int8_avxvnni.cpp's kernels.
#include "kernel_table.hpp"

namespace edgeattn::avx2 {

void gemm_i8_avx512vnni(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                        int panel0, int panel1, int N, const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx2Vnni, 4, 24>(a, row0, rows, K, packed, panel0, panel1, N,
                                                     out);
}

void gemm_i8_avx512vnni_1row(const kernels::Int8Rows& a, int row0, int rows, int K,
                             const void* packed, int panel0, int panel1, int N,
                             const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx2Vnni, 1, 24>(a, row0, rows, K, packed, panel0, panel1, N,
                                                     out);
}

}  // namespace edgeattn::avx2
