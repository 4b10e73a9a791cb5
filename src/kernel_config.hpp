// Tile sizes of the kernels this build runs. Chosen once here; the planner and the executor
// size arena regions and task grids from these constants.
#pragma once

namespace edgeattn::config {

// The kernels are plain C++ templates that the compiler vectorises for the build's baseline
// ISA; the explicit SIMD ports (x86-avx2, arm-neon64, ...) are not built yet.
inline constexpr const char* kPortName = "generic";
// GEMM register tile: MR rows × NR columns of accumulators.
inline constexpr int kGemmMR = 4;
inline constexpr int kGemmNR = 8;
// One projection task: kGemmRowBlock rows × kGemmPanelBlock panels of NR columns.
inline constexpr int kGemmRowBlock = 32;
inline constexpr int kGemmPanelBlock = 8;
// Attention: TQ query rows per task, K/V walked TK keys at a time.
inline constexpr int kAttnTQ = 16;
inline constexpr int kAttnTK = 64;

}  // namespace edgeattn::config
