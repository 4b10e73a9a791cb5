// Port `x86-sse2`: the kernel templates instantiated for xsimd::sse2 (4 floats per vector, no
// fused multiply-add: xsimd::fma is a multiply and an add). The baseline every x86-64 CPU has,
// chosen when the CPU lacks AVX2 or FMA (older Atom/Celeron boards, some VMs).
//
// Register budget (16 xmm registers): a 6 × 8 GEMM tile is 12 accumulators, plus 2 for the row
// of B and 1 for the broadcast of A — 15 of 16. Attention tiles as in x86-avx2 (48 × 128 keys;
// 128 is a multiple of NR = 8).
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }  // SSE2 is part of x86-64
using Vec = kernels::SimdVec<xsimd::sse2>;
// int8: pmaddwd on sign-extended int16 (SSE2 has no pmaddubsw); 2 × 8 tile, 2 registers per 4
// columns.
constexpr Int8Gemm kInt8[] = {make_int8_gemm<kernels::I8Sse2Madd, 2, 8>("x86_sse2", &always)};
constexpr KernelTable kTable =
    make_kernel_table<Vec, ProjectionTiles</*MR*/ 6, /*NR*/ 8, /*row block*/ 48, /*panels*/ 8>,
                      AttentionTiles</*MR*/ 6, /*NR*/ 8, /*TQ*/ 48, /*TK*/ 128>>("x86-sse2",
                                                                                 &always, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
