// Packed GEMM: the micro-kernel every port instantiates, and the projection driver around it.
//
// What is packing? The weights B are copied once at create() into panels of NR columns: panel
// p holds K rows of NR elements (fp32, f16 or bf16), zero-padded past N, so the micro-kernel
// streams one panel with unit stride and never branches on N. Activations A are read in place with
// a row stride, which lets one kernel read batch-first, sequence-first and head-concatenated inputs
// alike.
//
// The micro-kernel keeps an MR × NR tile of C in registers (MR·NR/lanes accumulators) and, per
// step of K, loads NR/lanes vectors of B and broadcasts MR scalars of A. Partial tiles are its
// own job: rows past mr alias the last valid row (their results are never stored); columns past
// the valid ones meet zero padding (packed weights) or are computed and ignored (attention).
// The same kernel computes attention's Q·Kᵀ and P·V tiles, with B read at a stride ldb.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "convert.hpp"
#include "gemm_neon.hpp"
#include "types.hpp"
#include "vec.hpp"

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

// Address of element (r, n) of a projection result (see OutputMap).
inline float* output_at(const OutputMap& out, int r, int n) {
  const int g = n / out.group_cols;
  const int c = n - g * out.group_cols;
  return out.base + g * out.group_step + c * out.col_step + r * out.row_step;
}

// Element types of a GEMM's B (packed weights, and the Kᵀ and V of a KV cache): how an element
// is stored, made from fp32 (when weights are packed, or a cache appended to), and widened back
// to fp32 by a kernel's loads, so 16-bit data stays 16-bit in memory and cache. Their order is
// the public ElementType's: the indices of KernelTable's kernels.
struct ElemF32 {
  using Stored = float;
  static float to_f32(float x) { return x; }
  static float from_f32(float x, bool*) { return x; }
  template <class Vec>
  static typename Vec::V load(const float* p) {
    return Vec::load(p);
  }
  template <class Vec>
  static typename Vec::V load_partial(const float* p, int n, float fill) {
    return Vec::load_partial(p, n, fill);
  }
};
// What the 16-bit types share: a masked tail widens its n elements through a small buffer.
template <class Self>
struct Elem16 {
  using Stored = std::uint16_t;
  template <class Vec>
  static typename Vec::V load_partial(const std::uint16_t* p, int n, float fill) {
    float t[Vec::lanes];
    for (int i = 0; i < n; ++i) t[i] = Self::to_f32(p[i]);
    return Vec::load_partial(t, n, fill);
  }
};
struct ElemF16 : Elem16<ElemF16> {
  static float to_f32(std::uint16_t x) { return f16_to_f32(x); }
  static std::uint16_t from_f32(float x, bool* overflow) { return f32_to_f16(x, overflow); }
  template <class Vec>
  static typename Vec::V load(const std::uint16_t* p) {
    return Vec::load_f16(p);
  }
};
struct ElemBF16 : Elem16<ElemBF16> {
  static float to_f32(std::uint16_t x) { return bf16_to_f32(x); }
  static std::uint16_t from_f32(float x, bool* overflow) { return f32_to_bf16(x, overflow); }
  template <class Vec>
  static typename Vec::V load(const std::uint16_t* p) {
    return Vec::load_bf16(p);
  }
};
// int8 in a KV cache: symmetric, one fp32 scale per cached position and head, which the
// attention kernels fold into the scores' columns (keys) and the probabilities (values); the
// loads widen the int8 values only.
struct ElemI8 {
  using Stored = std::int8_t;
  static float to_f32(std::int8_t x) { return static_cast<float>(x); }
  template <class Vec>
  static typename Vec::V load(const std::int8_t* p) {
    return Vec::load_i8(p);
  }
  template <class Vec>
  static typename Vec::V load_partial(const std::int8_t* p, int n, float fill) {
    float t[Vec::lanes];
    for (int i = 0; i < n; ++i) t[i] = to_f32(p[i]);
    return Vec::load_partial(t, n, fill);
  }
};
template <class E>
constexpr bool kScaledElem = false;  // whether elements carry per-position scales (int8 caches)
template <>
constexpr bool kScaledElem<ElemI8> = true;

constexpr int kWeightTypes = 3;  // packed fp32-arithmetic weights: f32, f16, bf16 (int8: own GEMM)
constexpr int kKvTypes = 3;      // KV caches: f32, f16, int8
// The kernel tables' KV index of an element type (ElementType's value): f32 0, f16 1, int8 2.
constexpr int kv_kernel_index(int element_type) { return element_type == 3 ? 2 : element_type; }

// Elements (of any type) of B packed into NR-column panels.
inline std::size_t packed_b_elems(int K, int N, int NR) {
  return static_cast<std::size_t>((N + NR - 1) / NR) * static_cast<std::size_t>(K) * NR;
}

// Packs B[k][n] = src(k, n) into NR-column panels. `transposed` means the source is stored
// [N][K] (PyTorch's [out, in] weights), else [K][N] (textbook [in, out]). A transposed source
// is read in blocks of 64 k (four cache lines of each of the panel's NR source rows), so that
// its NR row streams are read lines at a time, not one float of each per step (NR = 24 streams
// outran the hardware prefetcher: 6.4 GB/s, blocked 12.4). Elements are converted from the
// source's type S to the panels' type D through fp32 (exact for f16 -> f16, bf16 -> bf16).
// Returns how many finite source values became infinite (too large for D). NR is a run-time
// value: any build packs for any port's panel width (packed blobs), and packing is memory-bound.
template <class S, class D>
std::size_t pack_panels(int NR, const typename S::Stored* src, bool transposed, int K, int N,
                        typename D::Stored* packed) {
  constexpr int KB = 64;
  bool overflow = false;
  std::size_t overflows = 0;
  auto convert = [&](typename S::Stored x) {
    const auto y = D::from_f32(S::to_f32(x), &overflow);
    if (overflow) ++overflows, overflow = false;
    return y;
  };
  const typename D::Stored zero = D::from_f32(0.0f, &overflow);
  const int panels = (N + NR - 1) / NR;
  for (int p = 0; p < panels; ++p) {
    typename D::Stored* dst = packed + static_cast<std::size_t>(p) * K * NR;
    const int n0 = p * NR;
    const int nr = std::min(NR, N - n0);
    if (!transposed) {
      for (int k = 0; k < K; ++k) {
        const typename S::Stored* s = src + static_cast<std::size_t>(k) * N + n0;
        typename D::Stored* d = dst + static_cast<std::size_t>(k) * NR;
        for (int j = 0; j < nr; ++j) d[j] = convert(s[j]);
        for (int j = nr; j < NR; ++j) d[j] = zero;
      }
      continue;
    }
    for (int k0 = 0; k0 < K; k0 += KB) {
      const int kb = std::min(KB, K - k0);
      typename D::Stored* d = dst + static_cast<std::size_t>(k0) * NR;
      for (int j = 0; j < nr; ++j) {
        const typename S::Stored* s = src + static_cast<std::size_t>(n0 + j) * K + k0;
        for (int k = 0; k < kb; ++k) d[k * NR + j] = convert(s[k]);
      }
      for (int j = nr; j < NR; ++j)
        for (int k = 0; k < kb; ++k) d[k * NR + j] = zero;
    }
  }
  return overflows;
}

template <class S>
std::size_t pack_b_from(int NR, const typename S::Stored* src, bool transposed, int K, int N,
                        void* packed, int dst_type) {
  switch (dst_type) {
    case 1:
      return pack_panels<S, ElemF16>(NR, src, transposed, K, N,
                                     static_cast<std::uint16_t*>(packed));
    case 2:
      return pack_panels<S, ElemBF16>(NR, src, transposed, K, N,
                                      static_cast<std::uint16_t*>(packed));
    default:
      return pack_panels<S, ElemF32>(NR, src, transposed, K, N, static_cast<float*>(packed));
  }
}

// Packs for panels NR columns wide; element types as the public ElementType's values.
inline std::size_t pack_b_any(int NR, const void* src, int src_type, bool transposed, int K, int N,
                              void* packed, int dst_type) {
  switch (src_type) {
    case 1:
      return pack_b_from<ElemF16>(NR, static_cast<const std::uint16_t*>(src), transposed, K, N,
                                  packed, dst_type);
    case 2:
      return pack_b_from<ElemBF16>(NR, static_cast<const std::uint16_t*>(src), transposed, K, N,
                                   packed, dst_type);
    default:
      return pack_b_from<ElemF32>(NR, static_cast<const float*>(src), transposed, K, N, packed,
                                  dst_type);
  }
}

// The packing entry of a port's table (its own panel width).
template <int NR>
std::size_t pack_b(const void* src, int src_type, bool transposed, int K, int N, void* packed,
                   int dst_type) {
  return pack_b_any(NR, src, src_type, transposed, K, N, packed, dst_type);
}

// Whether Vec's micro-kernel is the NEON lane-FMA one (gemm_neon.hpp): the AArch64 ports.
template <class Vec>
constexpr bool kNeonLaneGemm = false;
#if defined(__ARM_NEON) && defined(__aarch64__) && defined(EDGEATTN_KERNELS_USE_XSIMD)
template <>
constexpr bool kNeonLaneGemm<SimdVec<xsimd::neon64>> = true;
#endif

// C[0..mr) × [0..NR) (=|+= with ACCUMULATE) A[0..mr) × [0..K) · B[0..K) × [0..NR).
// A rows are lda apart, B rows ldb apart, C rows ldc apart; all NR columns of C are written.
// B's elements are of type BT (fp32, or 16-bit weights widened as they are loaded).
template <class Vec, int MR, int NR, bool ACCUMULATE, class BT = ElemF32>
inline void gemm_ukernel(int mr, int K, const float* a, std::ptrdiff_t lda,
                         const typename BT::Stored* b, std::ptrdiff_t ldb, float* c,
                         std::ptrdiff_t ldc) {
  static_assert(NR % Vec::lanes == 0, "NR must be a multiple of the vector width");
#if defined(__ARM_NEON) && defined(__aarch64__)
  if constexpr (kNeonLaneGemm<Vec>) {
    gemm_ukernel_neon_lanes<Vec, MR, NR, ACCUMULATE, BT>(mr, K, a, lda, b, ldb, c, ldc);
    return;
  }
#endif
  constexpr int NV = NR / Vec::lanes;
  using V = typename Vec::V;
  const float* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + std::min(i, mr - 1) * lda;
  V acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = ACCUMULATE && i < mr ? Vec::load(c + i * ldc + v * Vec::lanes) : Vec::zero();
  for (int k = 0; k < K; ++k) {
    const typename BT::Stored* bk = b + k * ldb;
    V bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = BT::template load<Vec>(bk + v * Vec::lanes);
    for (int i = 0; i < MR; ++i) {
      const V ai = Vec::broadcast(rows[i][k]);
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec::fma(ai, bv[v], acc[i][v]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    for (int v = 0; v < NV; ++v) Vec::store(c + i * ldc + v * Vec::lanes, acc[i][v]);
  }
}

// Epilogue of one MR × NR tile (row r, column n0 of the result): bias, scale, and the stores
// the OutputMap asks for. Address arithmetic is done once per row and head (outputs contiguous
// along n: row-major and head-major; a tile may straddle two heads) or once per column
// (transposed K, contiguous along r).
template <int NR>
inline void store_tile(const float* tile, int mr, int nr, int r, int n0, const OutputMap& out) {
  float bias[NR];
  for (int j = 0; j < nr; ++j) bias[j] = out.bias ? out.bias[n0 + j] : 0.0f;
  if (out.col_step == 1) {
    for (int j0 = 0; j0 < nr;) {  // columns [j0, j1) lie in one group
      const int j1 = std::min(nr, ((n0 + j0) / out.group_cols + 1) * out.group_cols - n0);
      for (int i = 0; i < mr; ++i) {
        float* dst = output_at(out, r + i, n0 + j0) - j0;
        const float* t = tile + i * NR;
        for (int j = j0; j < j1; ++j) dst[j] = (t[j] + bias[j]) * out.scale;
      }
      j0 = j1;
    }
  } else if (out.row_step == 1) {
    for (int j = 0; j < nr; ++j) {
      float* dst = output_at(out, r, n0 + j);
      for (int i = 0; i < mr; ++i) dst[i] = (tile[i * NR + j] + bias[j]) * out.scale;
    }
  } else {
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j)
        *output_at(out, r + i, n0 + j) = (tile[i * NR + j] + bias[j]) * out.scale;
  }
}

// Projection driver: rows [row0, row0 + rows) × panels [panel0, panel1) of C = A · B, then
// bias, scale and the OutputMap. A points at row 0; the packed panels hold elements of BT.
template <class Vec, int MR, int NR, class BT = ElemF32>
void gemm_block(const float* a, std::ptrdiff_t lda, int row0, int rows, int K, const void* packed,
                int panel0, int panel1, int N, const OutputMap& out) {
  alignas(64) float tile[MR * NR];
  for (int p = panel0; p < panel1; ++p) {
    const typename BT::Stored* bp =
        static_cast<const typename BT::Stored*>(packed) + static_cast<std::size_t>(p) * K * NR;
    const int n0 = p * NR;
    const int nr = std::min(NR, N - n0);
    for (int r = row0; r < row0 + rows; r += MR) {
      const int mr = std::min(MR, row0 + rows - r);
      gemm_ukernel<Vec, MR, NR, false, BT>(mr, K, a + r * lda, lda, bp, NR, tile, NR);
      store_tile<NR>(tile, mr, nr, r, n0, out);
    }
  }
}

}  // namespace
}  // namespace edgeattn::kernels
