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
  return m.attn_add || m.attn_bool || m.kpm_add || m.kpm_bool || m.causal || m.valid_keys >= 0;
}

// Gemma-style logit soft-capping (ONNX `softcap`), applied before any mask.
inline void apply_softcap(float cap, int n, float* s) {
  const float inv = 1.0f / cap;
  for (int j = 0; j < n; ++j) s[j] = cap * std::tanh(s[j] * inv);
}

// Adds the mask of row i, keys [j0, j0 + n), to s[0 .. n).
inline void apply_mask(const MaskView& mk, int i, int j0, int n, float* s) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int jend = std::min(j0 + n, mk.kv_len);
  const int mcols = mk.mask_cols > 0 ? std::min(mk.mask_cols, mk.kv_len) : mk.kv_len;
  const int mend = std::min(jend, mcols);
  if (mk.attn_add) {
    const float* m = mk.attn_add + i * mk.mask_ld;
    for (int j = j0; j < mend; ++j) s[j - j0] += m[j];
  }
  if (mk.attn_bool) {
    const std::uint8_t* m = mk.attn_bool + i * mk.mask_ld;
    for (int j = j0; j < mend; ++j)
      if ((m[j] != 0) == mk.attn_bool_blocks_if_true) s[j - j0] = kNegInf;
  }
  if (mk.attn_add || mk.attn_bool) {  // a mask narrower than the keys blocks the rest
    for (int j = std::max(j0, mcols); j < jend; ++j) s[j - j0] = kNegInf;
  }
  if (mk.kpm_add) {
    for (int j = j0; j < jend; ++j) s[j - j0] += mk.kpm_add[j];
  }
  if (mk.kpm_bool) {
    for (int j = j0; j < jend; ++j)
      if ((mk.kpm_bool[j] != 0) == mk.kpm_bool_blocks_if_true) s[j - j0] = kNegInf;
  }
  if (mk.valid_keys >= 0) {
    for (int j = std::max(j0, mk.valid_keys); j < jend; ++j) s[j - j0] = kNegInf;
  }
  if (mk.causal) {
    const long first_blocked = static_cast<long>(i) + 1 + mk.causal_offset;
    for (int j = static_cast<int>(std::clamp<long>(first_blocked, j0, jend)); j < jend; ++j)
      s[j - j0] = kNegInf;
  }
}

// The keys a query tile [i0, i0 + rows) can see at all: causal and valid-length limits let it
// stop early (keys past kv_len, the bias_k position, are never masked, so then it cannot).
inline int visible_keys(const MaskView& mask, int kv_total, int i0, int rows) {
  int kv_end = kv_total;
  if (kv_total != mask.kv_len) return kv_end;
  if (mask.causal) {
    const long last = static_cast<long>(i0) + rows + mask.causal_offset;
    kv_end = static_cast<int>(std::clamp<long>(last, 0, kv_end));
  }
  if (mask.valid_keys >= 0) kv_end = std::min(kv_end, mask.valid_keys);
  return kv_end;
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
// HD > 0 compiles the tile for that head_dim (the common 32, 64, 80, 96, 128) with V as wide
// (KernelTable::attend_tile_for picks it only then): the Q·Kᵀ depth and the accumulator width
// become constants the compiler unrolls. HD = 0 takes h.head_dim and h.v_dim.
template <class Vec, int MR, int NR, int TQ, int TK, int HD>
void attend_tile(const HeadView& h, const MaskView& mask, int i0, int rows, float* scratch) {
  static_assert(TK % NR == 0, "TK must be a multiple of NR");
  using V = typename Vec::V;
  constexpr int L = Vec::lanes;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = HD > 0 ? HD : h.head_dim;
  const int vd = HD > 0 ? HD : h.v_dim;  // V's width
  const int vd_pad = round_up_int(vd, NR);
  float* s = scratch;                                      // [TQ][TK]
  float* o = s + TQ * TK;                                  // [TQ][vd_pad]
  float* m = o + static_cast<std::ptrdiff_t>(TQ) * vd_pad;  // [TQ]
  float* l = m + TQ;                                       // [TQ]
  for (int i = 0; i < rows; ++i) {
    m[i] = kNegInf;
    l[i] = 0.0f;
    for (int d = 0; d < vd_pad; ++d) o[i * vd_pad + d] = 0.0f;
  }
  // Keys beyond the last row's diagonal (causal) or the valid length are masked for every row
  // of the tile: stop there.
  const int kv_end = visible_keys(mask, h.kv_total, i0, rows);
  const bool masked = mask_any(mask);
  const bool capped = mask.softcap > 0.0f;
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
      if (capped) apply_softcap(mask.softcap, cols, si);
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
        float* oi = o + i * vd_pad;
        const V va = Vec::broadcast(alpha);
        for (int d = 0; d < vd_pad; d += L) Vec::store(oi + d, Vec::mul(Vec::load(oi + d), va));
      }
    }
    for (int ir = 0; ir < rows; ir += MR)
      for (int dc = 0; dc < vd; dc += NR)
        gemm_ukernel<Vec, MR, NR, true>(std::min(MR, rows - ir), cols, s + ir * TK, TK,
                                        h.v + static_cast<std::ptrdiff_t>(j0) * vd + dc, vd,
                                        o + ir * vd_pad + dc, vd_pad);
  }
  for (int i = 0; i < rows; ++i) {
    float* dst = h.out + static_cast<std::ptrdiff_t>(i0 + i) * h.out_ld;
    const float inv = l[i] == 0.0f ? 0.0f : 1.0f / l[i];  // 0: every key masked; NaN stays NaN
    const float* oi = o + i * vd_pad;
    for (int d = 0; d < vd; ++d) dst[d] = oi[d] * inv;
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
// of the row is masked, prob and the output row are zeros. With `stage_out`, the row is also
// copied there at one step (ONNX qk_matmul_output modes): 0 the scaled Q·Kᵀ, 1 after the
// softcap, 2 after the mask, 3 the probabilities.
inline void attend_row_with_weights(const HeadView& h, const MaskView& mask, int i, float* prob,
                                    int stage = -1, float* stage_out = nullptr) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = h.head_dim;
  const int vd = h.v_dim;
  const int n = h.kv_total;
  auto snapshot = [&](int step) {
    if (step == stage && stage_out)
      for (int j = 0; j < n; ++j) stage_out[j] = prob[j];
  };
  const float* qi = h.q + static_cast<std::ptrdiff_t>(i) * hd;
  for (int j = 0; j < n; ++j) prob[j] = 0.0f;
  for (int d = 0; d < hd; ++d) {
    const float qd = qi[d];
    const float* kd = h.kt + d * h.kv_ld;
    for (int j = 0; j < n; ++j) prob[j] += qd * kd[j];
  }
  snapshot(0);
  if (mask.softcap > 0.0f) apply_softcap(mask.softcap, n, prob);
  snapshot(1);
  if (mask_any(mask)) apply_mask(mask, i, 0, n, prob);
  snapshot(2);
  float mx = kNegInf;
  for (int j = 0; j < n; ++j) mx = std::max(mx, prob[j]);
  float* dst = h.out + static_cast<std::ptrdiff_t>(i) * h.out_ld;
  for (int d = 0; d < vd; ++d) dst[d] = 0.0f;
  if (mx == kNegInf) {
    float poison = 0.0f;  // a NaN score (skipped by max()) must still reach the output
    for (int j = 0; j < n; ++j)
      if (prob[j] != prob[j]) poison = prob[j];
    for (int j = 0; j < n; ++j) prob[j] = poison;
    for (int d = 0; d < vd; ++d) dst[d] = poison;
    snapshot(3);
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
    const float* vj = h.v + static_cast<std::ptrdiff_t>(j) * vd;
    for (int d = 0; d < vd; ++d) dst[d] += p * vj[d];
  }
  snapshot(3);
}

}  // namespace
}  // namespace edgeattn::kernels
