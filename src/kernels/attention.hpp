// Scaled dot-product attention for one (batch, head) over head-major Q, Kᵀ and V.
//
// Fast path (attend_tile): flash-style. A tile of TQ query rows walks K/V in tiles of TK keys:
// scores S = Q·Kᵀ for the tile, masks added inside the tile, online softmax (running max m and
// sum l per row; when the max grows the accumulator is rescaled by exp(m_old − m_new)), then
// O += P·V. Scratch is O(TQ·TK + TQ·head_dim), never O(q_len·kv_len). With the causal flag a
// query tile stops at the first KV tile wholly above the diagonal.
//
// Weights path (attend_row_with_weights): materialises one full score row per query to hand
// the probabilities to the caller; used only when attention weights are asked for.
//
// Q arrives pre-scaled (the projection epilogue folds the softmax scale in). A row whose keys
// are all masked yields zeros (l == 0), never NaN.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "gemm.hpp"
#include "types.hpp"

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

inline bool mask_any(const MaskView& m) {
  return m.attn_add || m.attn_bool || m.kpm_add || m.kpm_bool || m.causal;
}

// Adds the mask of row i, keys [j0, j0 + n), to s[0 .. n).
inline void apply_mask(const MaskView& mk, int i, int j0, int n, float* s) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int jend = std::min(j0 + n, mk.kv_len);
  if (mk.attn_add) {
    const float* m = mk.attn_add + i * mk.mask_ld;
    for (int j = j0; j < jend; ++j) s[j - j0] += m[j];
  }
  if (mk.attn_bool) {
    const std::uint8_t* m = mk.attn_bool + i * mk.mask_ld;
    for (int j = j0; j < jend; ++j)
      if ((m[j] != 0) == mk.attn_bool_blocks_if_true) s[j - j0] = kNegInf;
  }
  if (mk.kpm_add) {
    for (int j = j0; j < jend; ++j) s[j - j0] += mk.kpm_add[j];
  }
  if (mk.kpm_bool) {
    for (int j = j0; j < jend; ++j)
      if ((mk.kpm_bool[j] != 0) == mk.kpm_bool_blocks_if_true) s[j - j0] = kNegInf;
  }
  if (mk.causal) {
    for (int j = std::max(j0, i + 1); j < jend; ++j) s[j - j0] = kNegInf;
  }
}

inline int round_up_int(int n, int m) { return (n + m - 1) / m * m; }

template <int TQ, int TK, int NR>
std::size_t attend_tile_scratch_floats(int head_dim) {
  return static_cast<std::size_t>(TQ) * TK +
         static_cast<std::size_t>(TQ) * round_up_int(head_dim, NR) + 2 * TQ;
}

// Query rows [i0, i0 + rows), rows <= TQ. S = Q·Kᵀ and O += P·V run through the GEMM
// micro-kernel (MR × NR); the softmax in between is vectorised over keys.
//
// Reads past the valid columns: the micro-kernel reads NR columns of Kᵀ (kv_ld is padded to a
// multiple of NR) and of V rows (up to round_up(head_dim, NR); the planner leaves slack after
// V). Those columns only feed S and O columns that are never used.
//
// HD > 0 compiles the tile for that head_dim (the common 32, 64, 80, 96, 128): the Q·Kᵀ depth
// and the accumulator width become constants the compiler unrolls. HD = 0 takes h.head_dim.
template <class Vec, int MR, int NR, int TQ, int TK, int HD>
void attend_tile(const HeadView& h, const MaskView& mask, int i0, int rows, float* scratch) {
  static_assert(TK % NR == 0, "TK must be a multiple of NR");
  using V = typename Vec::V;
  constexpr int L = Vec::lanes;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = HD > 0 ? HD : h.head_dim;
  const int hd_pad = round_up_int(hd, NR);
  float* s = scratch;                                      // [TQ][TK]
  float* o = s + TQ * TK;                                  // [TQ][hd_pad]
  float* m = o + static_cast<std::ptrdiff_t>(TQ) * hd_pad;  // [TQ]
  float* l = m + TQ;                                       // [TQ]
  for (int i = 0; i < rows; ++i) {
    m[i] = kNegInf;
    l[i] = 0.0f;
    for (int d = 0; d < hd_pad; ++d) o[i * hd_pad + d] = 0.0f;
  }
  // Causal: keys beyond the last row's diagonal are masked for every row of the tile (the
  // bias_k position, past kv_len, is never masked, so then every tile is visited).
  int kv_end = h.kv_total;
  if (mask.causal && h.kv_total == mask.kv_len) kv_end = std::min(kv_end, i0 + rows);
  const bool masked = mask_any(mask);
  const float* q = h.q + static_cast<std::ptrdiff_t>(i0) * hd;

  for (int j0 = 0; j0 < kv_end; j0 += TK) {
    const int cols = std::min(TK, kv_end - j0);
    for (int ir = 0; ir < rows; ir += MR)
      for (int jc = 0; jc < cols; jc += NR)
        gemm_ukernel<Vec, MR, NR, false>(std::min(MR, rows - ir), hd, q + ir * hd, hd,
                                         h.kt + j0 + jc, h.kv_ld, s + ir * TK + jc, TK);
    const int vec_cols = cols / L * L;
    for (int i = 0; i < rows; ++i) {
      float* si = s + i * TK;
      if (masked) apply_mask(mask, i0 + i, j0, cols, si);
      V vmax = Vec::broadcast(kNegInf);
      for (int j = 0; j < vec_cols; j += L) vmax = Vec::max(vmax, Vec::load(si + j));
      float mx = std::max(m[i], Vec::hmax(vmax));
      for (int j = vec_cols; j < cols; ++j) mx = std::max(mx, si[j]);
      if (mx == kNegInf) {  // every key so far masked: P is all zero, nothing to accumulate
        for (int j = 0; j < cols; ++j) {
          if (si[j] != si[j]) l[i] = si[j];  // ...unless a score is NaN (max() skips NaN): keep it
          si[j] = 0.0f;
        }
        continue;
      }
      const float alpha = std::exp(m[i] - mx);  // 0 when m[i] was -inf
      const V vmx = Vec::broadcast(mx);
      V vsum = Vec::zero();
      for (int j = 0; j < vec_cols; j += L) {
        const V p = Vec::exp(Vec::sub(Vec::load(si + j), vmx));
        Vec::store(si + j, p);
        vsum = Vec::add(vsum, p);
      }
      float sum = Vec::hsum(vsum);
      for (int j = vec_cols; j < cols; ++j) sum += (si[j] = std::exp(si[j] - mx));
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      if (alpha != 1.0f) {
        float* oi = o + i * hd_pad;
        const V va = Vec::broadcast(alpha);
        for (int d = 0; d < hd_pad; d += L) Vec::store(oi + d, Vec::mul(Vec::load(oi + d), va));
      }
    }
    for (int ir = 0; ir < rows; ir += MR)
      for (int dc = 0; dc < hd; dc += NR)
        gemm_ukernel<Vec, MR, NR, true>(std::min(MR, rows - ir), cols, s + ir * TK, TK,
                                        h.v + static_cast<std::ptrdiff_t>(j0) * hd + dc, hd,
                                        o + ir * hd_pad + dc, hd_pad);
  }
  for (int i = 0; i < rows; ++i) {
    float* dst = h.out + static_cast<std::ptrdiff_t>(i0 + i) * h.out_ld;
    const float inv = l[i] == 0.0f ? 0.0f : 1.0f / l[i];  // 0: every key masked; NaN stays NaN
    const float* oi = o + i * hd_pad;
    for (int d = 0; d < hd; ++d) dst[d] = oi[d] * inv;
  }
}

// y[i] = exp(x[i]) for i < n, vectorised as in the softmax (for tests and benchmarks).
template <class Vec>
void vexp(const float* x, float* y, int n) {
  int i = 0;
  for (; i + Vec::lanes <= n; i += Vec::lanes) Vec::store(y + i, Vec::exp(Vec::load(x + i)));
  for (; i < n; ++i) y[i] = std::exp(x[i]);
}

// One query row with its probabilities materialised into prob[0 .. kv_total). When every key
// of the row is masked, prob and the output row are zeros.
inline void attend_row_with_weights(const HeadView& h, const MaskView& mask, int i, float* prob) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = h.head_dim;
  const int n = h.kv_total;
  const float* qi = h.q + static_cast<std::ptrdiff_t>(i) * hd;
  for (int j = 0; j < n; ++j) prob[j] = 0.0f;
  for (int d = 0; d < hd; ++d) {
    const float qd = qi[d];
    const float* kd = h.kt + d * h.kv_ld;
    for (int j = 0; j < n; ++j) prob[j] += qd * kd[j];
  }
  if (mask_any(mask)) apply_mask(mask, i, 0, n, prob);
  float mx = kNegInf;
  for (int j = 0; j < n; ++j) mx = std::max(mx, prob[j]);
  float* dst = h.out + static_cast<std::ptrdiff_t>(i) * h.out_ld;
  for (int d = 0; d < hd; ++d) dst[d] = 0.0f;
  if (mx == kNegInf) {
    float poison = 0.0f;  // a NaN score (skipped by max()) must still reach the output
    for (int j = 0; j < n; ++j)
      if (prob[j] != prob[j]) poison = prob[j];
    for (int j = 0; j < n; ++j) prob[j] = poison;
    for (int d = 0; d < hd; ++d) dst[d] = poison;
    return;
  }
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    prob[j] = std::exp(prob[j] - mx);
    sum += prob[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; ++j) {
    prob[j] *= inv;
    const float p = prob[j];
    if (p == 0.0f) continue;
    const float* vj = h.v + static_cast<std::ptrdiff_t>(j) * hd;
    for (int d = 0; d < hd; ++d) dst[d] += p * vj[d];
  }
}

}  // namespace
}  // namespace edgeattn::kernels
