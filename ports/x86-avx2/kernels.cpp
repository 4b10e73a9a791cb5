// Port `x86-avx2`: the kernel templates instantiated for xsimd::fma3<xsimd::avx2> (8 floats per
// vector, fused multiply-add). Serves x86-64 CPUs with AVX2 and FMA: Intel Haswell (2013) and
// later, AMD Zen and later. This file alone is compiled with -mavx2 -mfma, so the rest of the
// binary still runs on any x86-64; select_port() checks the CPU (cpu.cpp) before using this table.
//
// Register budget (16 ymm registers). Projections: a 4 × 24 tile holds 12 accumulators, 3
// registers carry the current row of B and 1 the broadcast of A — all 16. Per step of K that is
// 12 FMAs for 3 loads and 4 broadcasts; the 6 × 16 tile needs 6 broadcasts for its 12 FMAs and
// ran 4–5 % slower on projections here (Zen 5). Two FMA
// units each need 4–5 independent chains of latency 4, and 12 chains cover that.
// Projection tasks take up to 144 rows: the packed weights then stream from L3 once per 144
// rows instead of once per 48 (S4's 128 rows read them once), while the rows of A a task
// reuses (144 × 768 floats, 442 KB) stay in a 1 MB L2.
// Attention keeps a 6 × 16 tile: its K is short (head_dim for Q·Kᵀ, TK for P·V), and 16
// columns divide the head widths 32, 64, 80, 96, 128 and Kᵀ rows (padded to 16 keys). 48 query
// rows share each K/V tile (8 micro-tiles of 6), 128 keys per online softmax step keep the S
// tile (24 KB) and the O accumulator in L1/L2.
#include "kernel_table.hpp"

namespace edgeattn {

namespace x86 {
bool cpu_runs_avx2_fma();  // cpu.cpp, compiled for any x86-64
bool cpu_runs_avx_vnni();
bool cpu_runs_avx512_vnni_vl();
}  // namespace x86

namespace avx2 {  // int8_avxvnni.cpp and int8_avx512vnni.cpp, with their own flags
using Int8Block = void(const kernels::Int8Rows&, int, int, int, const void*, int, int, int,
                       const kernels::OutputMap&);
Int8Block gemm_i8_avxvnni, gemm_i8_avxvnni_1row, gemm_i8_avx512vnni, gemm_i8_avx512vnni_1row;
}  // namespace avx2

namespace {
using Vec = kernels::SimdVec<xsimd::fma3<xsimd::avx2>>;
#if defined(EDGEATTN_TEST_SLOWDOWN)
// A deliberately slowed build (CMake option EDGEATTN_TEST_SLOWDOWN, for testing the regression
// checks only): half the register tiles' rows under the same kernel names, as a regression would.
constexpr int kProjectionMR = 2, kAttentionMR = 3;
#else
constexpr int kProjectionMR = 4, kAttentionMR = 6;
#endif
// int8, best first: vpdpbusd on ymm with AVX-VNNI (VEX) or AVX512-VNNI + VL (EVEX) — one
// source, I8Avx2Vnni, compiled for each —, else vpmaddubsw/vpmaddwd (I8Avx2Madd) on every
// AVX2 CPU. 4 × 24: 12 accumulators.
constexpr Int8Gemm kInt8[] = {
    {"x86_avx2_avxvnni", 4, &x86::cpu_runs_avx_vnni, &avx2::gemm_i8_avxvnni,
     &avx2::gemm_i8_avxvnni_1row},
    {"x86_avx2_avx512vnni", 4, &x86::cpu_runs_avx512_vnni_vl, &avx2::gemm_i8_avx512vnni,
     &avx2::gemm_i8_avx512vnni_1row},
    make_int8_gemm<kernels::I8Avx2Madd, 4, 24>("x86_avx2", &x86::cpu_runs_avx2_fma)};
constexpr KernelTable kTable =
    make_kernel_table<Vec,
                      ProjectionTiles<kProjectionMR, /*NR*/ 24, /*row block*/ 144, /*panels*/ 2>,
                      AttentionTiles<kAttentionMR, /*NR*/ 16, /*TQ*/ 48, /*TK*/ 128>>(
        "x86-avx2", &x86::cpu_runs_avx2_fma, kInt8, 3);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
