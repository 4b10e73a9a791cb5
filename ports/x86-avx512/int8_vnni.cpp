// The x86-avx512 port's int8 projection kernels with AVX512-VNNI (vpdpbusd): the only file of
// the port compiled with -mavx512vnni, reached through the port's table only on CPUs whose
// CPUID reports AVX512-VNNI (cpu.cpp).
#include "kernel_table.hpp"
#include "tiles.hpp"

namespace edgeattn::avx512 {

void gemm_i8_vnni(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                  int panel0, int panel1, int N, const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx512Vnni, kInt8VnniMR, Projection::NR>(
      a, row0, rows, K, packed, panel0, panel1, N, out);
}

void gemm_i8_vnni_1row(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                       int panel0, int panel1, int N, const kernels::OutputMap& out) {
  kernels::gemm_i8_block<kernels::I8Avx512Vnni, 1, Projection::NR>(a, row0, rows, K, packed, panel0,
                                                                   panel1, N, out);
}

}  // namespace edgeattn::avx512
