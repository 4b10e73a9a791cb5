// Port `arm-neon32`: the kernel templates instantiated for xsimd::neon (ARMv7-A NEON with
// VFPv4, hard float, 4 floats per vector). Serves 32-bit Raspberry Pi OS images on Pi 2
// (Cortex-A7) and Pi 3/4 (Cortex-A53/A72 in AArch32 state). Needs the toolchain flags
// -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard (toolchains/arm-linux-gnueabihf.cmake).
//
// Register budget (16 q registers): a 6 × 8 GEMM tile is 12 accumulators, 2 registers carry the
// row of B and 1 the broadcast of A — 15 of 16. NEON on ARMv7 flushes denormals to zero, and
// xsimd's division there is a refined reciprocal estimate (the kernels divide only once per
// row, in the final normalisation). Attention: 32 query rows × 64 keys, for the 32 KB L1 of
// the A7/A53. Sizes from the register file and caches; not measured on a board.
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }  // the build targets NEON; the toolchain fixes the port
using Vec = kernels::SimdVec<xsimd::neon>;
// int8: vmull.s8 + vpadal.s16; 2 × 8 = 8 accumulator q registers of 16.
constexpr Int8Gemm kInt8[] = {make_int8_gemm<kernels::I8NeonMull, 2, 8>("arm_neon32", &always)};
constexpr KernelTable kTable =
    make_kernel_table<Vec, ProjectionTiles</*MR*/ 6, /*NR*/ 8, /*row block*/ 36, /*panels*/ 4>,
                      AttentionTiles</*MR*/ 6, /*NR*/ 8, /*TQ*/ 32, /*TK*/ 64>>("arm-neon32",
                                                                                &always, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
