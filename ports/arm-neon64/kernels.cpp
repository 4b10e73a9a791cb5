// Port `arm-neon64`: the kernel templates instantiated for xsimd::neon64 (AArch64 Advanced
// SIMD, 4 floats per vector, fused multiply-add). Serves every 64-bit ARM Linux board:
// Raspberry Pi 3 and Zero 2 W (Cortex-A53), Pi 4 (Cortex-A72), Pi 5 (Cortex-A76).
//
// Register budget (32 v registers): an 8 × 12 GEMM tile is 24 accumulators, 3 registers carry
// the row of B and 1 the broadcast of A — 28 of 32, leaving room for address arithmetic
// without spills. 24 independent FMA chains cover the 4-cycle FMA latency of the A53 (one FMA
// unit) as well as the two units of the A72/A76. Attention walks K/V 96 keys at a time (a
// multiple of NR = 12) for 32 query rows (4 micro-tiles), keeping the S tile (12 KB) and the
// accumulator in the 32 KB L1 of the A53. These sizes follow from the register file and L1,
// not from measurements on a board (none is attached to this project's CI).
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }  // Advanced SIMD is mandatory in AArch64
using Vec = kernels::SimdVec<xsimd::neon64>;
// int8: smull + sadalp (ARMv8.0 has no dot product); 4 × 12 = 24 accumulator registers.
constexpr Int8Gemm kInt8[] = {make_int8_gemm<kernels::I8NeonMull, 4, 12>("arm_neon64", &always)};
constexpr KernelTable kTable =
    make_kernel_table<Vec, ProjectionTiles</*MR*/ 8, /*NR*/ 12, /*row block*/ 32, /*panels*/ 4>,
                      AttentionTiles</*MR*/ 8, /*NR*/ 12, /*TQ*/ 32, /*TK*/ 96>>("arm-neon64",
                                                                                 &always, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
