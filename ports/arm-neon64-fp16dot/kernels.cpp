// Port `arm-neon64-fp16dot`: arm-neon64's kernels compiled for ARMv8.2-A with fp16 arithmetic
// and dot products, chosen at run time where the kernel reports both (cpu.cpp): the Pi 5's
// Cortex-A76, A55 and A78 boards. Same tiles and packed layout as arm-neon64 (6 × 12 lane-FMA
// GEMM tile, 36 × 96 attention tile); int8 weights use sdot by element (kernels/gemm_int8.hpp,
// gemm_i8_ukernel_sdot: a 6 × 12 tile, 18 int32 accumulators, 6 activation vectors). Only this file
// is compiled with -march=armv8.2-a+fp16+dotprod; nothing here runs before the check (constant
// table).
#include "cpu.hpp"
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
using Vec = kernels::SimdVec<xsimd::neon64>;
constexpr Int8Gemm kInt8[] = {
    make_int8_gemm<kernels::I8NeonDot, 6, 12>("arm_neon64_fp16dot", &arm64::cpu_runs_fp16dot)};
constexpr KernelTable kTable =
    make_kernel_table<Vec, ProjectionTiles</*MR*/ 6, /*NR*/ 12, /*row block*/ 36, /*panels*/ 4>,
                      AttentionTiles</*MR*/ 6, /*NR*/ 12, /*TQ*/ 36, /*TK*/ 96>>(
        "arm-neon64-fp16dot", &arm64::cpu_runs_fp16dot, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
