// Port `x86-avx512`: the kernel templates instantiated for xsimd::avx512bw (16 floats per zmm
// register), with the fused multiply-adds and masked tails xsimd 8.1 lacks as intrinsics
// (kernels/vec.hpp, SimdWords<avx512bw>). Serves x86-64 CPUs with AVX-512F/BW/DQ/VL: Intel
// Skylake-SP, Ice Lake, Tiger Lake, Sapphire Rapids; AMD Zen 4 and Zen 5. Only this file is
// compiled with the AVX-512 flags; the CPU check (cpu.cpp) is not, so it runs on any x86-64.
// Nothing here runs before the check: the table is constant-initialised data.
#include "cpu_features.hpp"
#include "kernel_table.hpp"
#include "tiles.hpp"

namespace edgeattn {

namespace avx512 {
// int8_vnni.cpp, compiled with -mavx512vnni as well.
void gemm_i8_vnni(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                  int panel0, int panel1, int N, const kernels::OutputMap& out);
void gemm_i8_vnni_1row(const kernels::Int8Rows& a, int row0, int rows, int K, const void* packed,
                       int panel0, int panel1, int N, const kernels::OutputMap& out);
}  // namespace avx512

namespace {
// int8: AVX512-VNNI's vpdpbusd where the CPU has it (Cascade Lake, Ice Lake and later, Zen 4),
// else AVX2's vpmaddubsw on ymm (Skylake-SP), 2 × 48: 12 accumulators.
constexpr Int8Gemm kInt8[] = {{"x86_avx512_vnni", avx512::kInt8VnniMR, &x86::cpu_runs_avx512_vnni,
                               &avx512::gemm_i8_vnni, &avx512::gemm_i8_vnni_1row},
                              make_int8_gemm<kernels::I8Avx2Madd, 2, avx512::Projection::NR>(
                                  "x86_avx512", &x86::cpu_runs_avx512)};
constexpr KernelTable kTable =
    make_kernel_table<kernels::SimdVec<xsimd::avx512bw>, avx512::Projection, avx512::Attention>(
        "x86-avx512", &x86::cpu_runs_avx512, kInt8, 2);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
