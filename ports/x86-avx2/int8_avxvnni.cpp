// The x86-avx2 port's int8 projection kernels with AVX-VNNI (VEX-encoded vpdpbusd on ymm:
// Alder Lake, Zen 5): the only file compiled with -mavxvnni, reached only where CPUID reports
// AVX-VNNI (cpu.cpp). Its code is I8Avx2Vnni's, which int8_avx512vnni.cpp builds EVEX-encoded
// and the tests run on AVX512-VNNI CPUs (no machine or emulator here executes AVX-VNNI).
#include "kernel_table.hpp"

namespace edgeattn::avx2 {

void gemm_i8_avxvnni(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                     int panel0, int panel1, int N, const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx2Vnni, 4, 24>(a, row0, rows, K, packed, panel0, panel1, N,
                                                     out);
}

void gemm_i8_avxvnni_1row(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                          int panel0, int panel1, int N, const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx2Vnni, 1, 24>(a, row0, rows, K, packed, panel0, panel1, N,
                                                     out);
}

}  // namespace edgeattn::avx2
