// Port `arm-neon64`: the kernel templates instantiated for xsimd::neon64 (AArch64 Advanced
// SIMD, 4 floats per vector, fused multiply-add). Serves every 64-bit ARM Linux board:
// Raspberry Pi 3 and Zero 2 W (Cortex-A53), Pi 4 (Cortex-A72), Pi 5 (Cortex-A76).
//
// Register budget (32 v registers): the micro-kernel is kernels/gemm_neon.hpp's lane-FMA one
// (one 128-bit load of an A row feeds four k steps). A 6 × 12 tile is 18 accumulators, 6 A
// vectors and the B vectors: 27 of 32, no spill with fp32 B (8 × 12 would need 35). 18 independent
// FMA chains cover the 4-cycle FMA latency of the A53 (one FMA unit) and the two units of the
// A72/A76. Attention walks K/V 96 keys at a time (a multiple of NR = 12) for 36 query rows (6
// micro-tiles), keeping the S tile (13.5 KB) and the accumulator in the 32 KB L1 of the A53.
// tools/scripts/arm_cycle_model.py predicts each inner loop's cycles on the A53, A72 and A76
// (bench/models/); no board is attached to this project's CI.
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }  // Advanced SIMD is mandatory in AArch64
using Vec = kernels::SimdVec<xsimd::neon64>;
// int8: smull + sadalp (ARMv8.0 has no dot product); 4 × 12 = 24 accumulator registers.
constexpr Int8Gemm kInt8[] = {make_int8_gemm<kernels::I8NeonMull, 4, 12>("arm_neon64", &always)};
constexpr KernelTable kTable =
    make_kernel_table<Vec, ProjectionTiles</*MR*/ 6, /*NR*/ 12, /*row block*/ 36, /*panels*/ 4>,
                      AttentionTiles</*MR*/ 6, /*NR*/ 12, /*TQ*/ 36, /*TK*/ 96>>("arm-neon64",
                                                                                 &always, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
