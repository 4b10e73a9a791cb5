// Packed GEMM for the projections: C = (A · B + bias) · scale, written through an OutputMap.
//
// B (the weights) is packed once at create() into panels of NR columns: panel p holds K rows
// of NR floats, zero-padded past N, so the micro-kernel streams one panel with unit stride.
// A (activations) is read in place with a row stride, which lets one kernel read batch-first,
// sequence-first and head-concatenated inputs alike. The micro-kernel computes an MR × NR tile
// and handles partial tiles itself: rows past the end alias the last valid row (their results
// are simply not stored), columns past N meet the zero padding.
#pragma once

#include <algorithm>
#include <cstddef>

namespace edgeattn::kernels {

// Where element (row r, column n) of a GEMM result goes. Columns come in groups of
// `group_cols` (a head's width); consecutive columns inside a group are `col_step` apart,
// consecutive groups `group_step` apart, consecutive rows `row_step` apart. This one rule
// writes plain row-major output, head-major Q/V ([head][row][d]) and head-major transposed
// K ([head][d][row]) straight from the epilogue, with no separate split or transpose pass.
struct OutputMap {
  float* base = nullptr;
  std::ptrdiff_t row_step = 0;
  std::ptrdiff_t col_step = 1;
  int group_cols = 1;
  std::ptrdiff_t group_step = 0;
  const float* bias = nullptr;  // [N] or null
  float scale = 1.0f;           // applied after the bias (the softmax scale folded into Q)

  float* at(int r, int n) const {
    const int g = n / group_cols;
    const int c = n - g * group_cols;
    return base + g * group_step + c * col_step + r * row_step;
  }
};

inline std::size_t packed_b_floats(int K, int N, int NR) {
  return static_cast<std::size_t>((N + NR - 1) / NR) * static_cast<std::size_t>(K) * NR;
}

// Packs B[k][n] = src(k, n) into NR-column panels. `transposed` means the source is stored
// [N][K] (PyTorch's [out, in] weights), else [K][N] (textbook [in, out]).
template <int NR>
void pack_b(const float* src, bool transposed, int K, int N, float* packed) {
  const int panels = (N + NR - 1) / NR;
  for (int p = 0; p < panels; ++p) {
    float* dst = packed + static_cast<std::size_t>(p) * K * NR;
    for (int k = 0; k < K; ++k) {
      for (int j = 0; j < NR; ++j) {
        const int n = p * NR + j;
        float v = 0.0f;
        if (n < N) {
          v = transposed ? src[static_cast<std::size_t>(n) * K + k]
                         : src[static_cast<std::size_t>(k) * N + n];
        }
        dst[static_cast<std::size_t>(k) * NR + j] = v;
      }
    }
  }
}

// Plain C++ micro-kernel written so the compiler keeps the MR × NR accumulators in vector
// registers (the NR loop vectorises). The fast ports replace it with explicit SIMD.
template <int MR, int NR>
void gemm_ukernel(int mr, int K, const float* a, std::ptrdiff_t lda, const float* b,
                  float (&acc)[MR][NR]) {
  const float* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = a + std::min(i, mr - 1) * lda;
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = 0.0f;
  for (int k = 0; k < K; ++k) {
    const float* bk = b + static_cast<std::ptrdiff_t>(k) * NR;
    for (int i = 0; i < MR; ++i) {
      const float ai = rows[i][k];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bk[j];
    }
  }
}

// Computes rows [row0, row0 + rows) × panels [panel0, panel1) of C. A points at row 0.
template <int MR, int NR>
void gemm_block(const float* a, std::ptrdiff_t lda, int row0, int rows, int K,
                const float* packed, int panel0, int panel1, int N, const OutputMap& out) {
  float acc[MR][NR];
  for (int p = panel0; p < panel1; ++p) {
    const float* bp = packed + static_cast<std::size_t>(p) * K * NR;
    const int n0 = p * NR;
    const int nr = std::min(NR, N - n0);
    for (int r = row0; r < row0 + rows; r += MR) {
      const int mr = std::min(MR, row0 + rows - r);
      gemm_ukernel<MR, NR>(mr, K, a + r * lda, lda, bp, acc);
      for (int i = 0; i < mr; ++i) {
        for (int j = 0; j < nr; ++j) {
          const int n = n0 + j;
          float v = acc[i][j];
          if (out.bias) v += out.bias[n];
          *out.at(r + i, n) = v * out.scale;
        }
      }
    }
  }
}

}  // namespace edgeattn::kernels
