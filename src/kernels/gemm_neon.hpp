// The AArch64 NEON GEMM micro-kernel, written for the cores (included by gemm.hpp; used by the
// AArch64 ports through gemm_ukernel, for projections and both attention products alike).
//
// Why not the portable micro-kernel: it broadcasts one scalar of A per row and k step (8 scalar
// loads per step for 8 rows), and its 8 × 12 tile needs 24 accumulators + 3 B vectors + 8
// broadcasts = 35 of the 32 v registers, so GCC kept 4 accumulators on the stack. Here one
// 128-bit load of a row of A covers four k steps, and `fmla v.4s, b.4s, a.s[t]`
// (vfmaq_laneq_f32) takes lane t as the multiplier: no broadcast instruction, a quarter of the A
// loads. An MR × 12 tile holds MR·3 accumulators, MR A vectors and one B vector at a time:
// 6 × 12 is 18 + 6 + 3 = 27 registers, 72 FMAs for 18 loads per four k steps. A is read in
// place (row stride lda), as everywhere: no packing of A.
//
// Each B vector is loaded just before the six FMAs that use it; GCC's scheduling then decides
// the final order (the ports pass -fno-schedule-insns where its first pass spilled accumulators,
// see ports/arm-neon64/port.cmake). tools/scripts/arm_cycle_model.py predicts the loops per board
// (bench/models/): the out-of-order A72 and A76 run them at their FMA peak; the in-order A53
// waits two issue cycles for each 128-bit load.
#pragma once

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>

#include <algorithm>
#include <cstddef>

// The loops over the tile's rows and vectors are unrolled completely, always: an accumulator
// array indexed by a loop variable stays in memory (GCC keeps it there when a clone of the kernel
// outgrows its unrolling limits, as in attention's two call sites).
#define EDGEATTN_NEON_UNROLL _Pragma("GCC unroll 32")

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

// Four fp32 of B, whatever its stored type (BT::load through the port's Vec, as a register).
template <class Vec, class BT>
inline float32x4_t neon_load_b(const typename BT::Stored* p) {
  return static_cast<float32x4_t>(BT::template load<Vec>(p));
}

// One k step (lane T of each row's A vector) of an MR × NV·4 tile: each B vector is loaded just
// before the MR FMAs that use it.
template <class Vec, class BT, int T, int MR, int NV>
inline void neon_lane_step(float32x4_t (&acc)[MR][NV], const float32x4_t (&av)[MR],
                           const typename BT::Stored* bk) {
  EDGEATTN_NEON_UNROLL
  for (int v = 0; v < NV; ++v) {
    const float32x4_t bv = neon_load_b<Vec, BT>(bk + v * 4);
    EDGEATTN_NEON_UNROLL
    for (int i = 0; i < MR; ++i) acc[i][v] = vfmaq_laneq_f32(acc[i][v], bv, av[i], T);
  }
}

// gemm_ukernel's contract (gemm.hpp): C[0..mr) × [0..NR) (=|+= with ACCUMULATE) A · B.
template <class Vec, int MR, int NR, bool ACCUMULATE, class BT>
inline void gemm_ukernel_neon_lanes(int mr, int K, const float* a, std::ptrdiff_t lda,
                                    const typename BT::Stored* b, std::ptrdiff_t ldb, float* c,
                                    std::ptrdiff_t ldc) {
  static_assert(NR % 4 == 0, "NR must be a multiple of 4");
  constexpr int NV = NR / 4;
  const float* rows[MR];
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) rows[i] = a + std::min(i, mr - 1) * lda;
  // Rows past mr start from row mr − 1 of C (never stored): no branch per row, which made GCC
  // keep the accumulators in memory.
  const float* crows[MR];
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) crows[i] = c + std::min(i, mr - 1) * ldc;
  float32x4_t acc[MR][NV];
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) {
    EDGEATTN_NEON_UNROLL
    for (int v = 0; v < NV; ++v)
      acc[i][v] = ACCUMULATE ? vld1q_f32(crows[i] + v * 4) : vdupq_n_f32(0.0f);
  }
  int k = 0;
  for (; k + 4 <= K; k += 4) {
    float32x4_t av[MR];
    EDGEATTN_NEON_UNROLL
    for (int i = 0; i < MR; ++i) av[i] = vld1q_f32(rows[i] + k);
    const typename BT::Stored* bk = b + k * ldb;
    neon_lane_step<Vec, BT, 0>(acc, av, bk);
    neon_lane_step<Vec, BT, 1>(acc, av, bk + ldb);
    neon_lane_step<Vec, BT, 2>(acc, av, bk + 2 * ldb);
    neon_lane_step<Vec, BT, 3>(acc, av, bk + 3 * ldb);
  }
  // The K % 4 last steps: one element of each row, duplicated.
  _Pragma("GCC unroll 1") for (; k < K; ++k) {
    float32x4_t av[MR];
    EDGEATTN_NEON_UNROLL
    for (int i = 0; i < MR; ++i) av[i] = vld1q_dup_f32(rows[i] + k);
    neon_lane_step<Vec, BT, 0>(acc, av, b + k * ldb);
  }
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    EDGEATTN_NEON_UNROLL
    for (int v = 0; v < NV; ++v) vst1q_f32(c + i * ldc + v * 4, acc[i][v]);
  }
}

}  // namespace
}  // namespace edgeattn::kernels
#endif
