// The x86-avx512 port's tiles, shared with the emulated-avx512 port (which runs them with 16
// plain-float lanes on any CPU, for the tests). Why these sizes: README.md beside this file.
#pragma once

#include "kernel_table.hpp"

namespace edgeattn::avx512 {

// Projections: 8 × 48 = 24 zmm accumulators, 3 for the row of B, 1 for the broadcast of A.
// Tasks of up to 144 rows × 1 panel (48 columns, as x86-avx2's 2 panels of 24).
using Projection = ProjectionTiles</*MR*/ 8, /*NR*/ 48, /*row block*/ 144, /*panels*/ 1>;
// The AVX512-VNNI int8 tile: 6 × 48 — 18 int32 sums, the 3 offset shares, 3 weight vectors, the
// broadcast row and the offset constant fit the 32 zmm registers (8 rows spilled the sums).
constexpr int kInt8VnniMR = 6;
// Attention: 12 × 32 = 24 accumulators for Q·Kᵀ and P·V; 48 query rows × 128 keys per step.
using Attention = AttentionTiles</*MR*/ 12, /*NR*/ 32, /*TQ*/ 48, /*TK*/ 128>;

}  // namespace edgeattn::avx512
