// Scaled dot-product attention for one (batch, head) over head-major Q, Kᵀ and V.
//
// Fast path (attend_tile): flash-style. A tile of TQ query rows walks K/V in tiles of TK keys:
// scores S = Q·Kᵀ for the tile, masks added inside the tile, online softmax (running max m and
// sum l per row; when the max grows the accumulator is rescaled by exp(m_old − m_new)), then
// O += P·V. Scratch is O(TQ·TK + TQ·head_dim), never O(q_len·kv_len). With the causal flag a
// query tile stops at the first KV tile wholly above the diagonal.
//
// Weights path (attend_rows_with_weights): materialises one full score row per query to hand
// the probabilities to the caller; used only when attention weights are asked for.
//
// Q arrives pre-scaled (the projection epilogue folds the softmax scale in). A row whose keys
// are all masked yields zeros (l == 0), never NaN.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace edgeattn::kernels {

// Everything that can mask a score, resolved for one (batch, head).
struct MaskView {
  const float* attn_add = nullptr;      // [q_len][mask_ld] additive, or null
  const std::uint8_t* attn_bool = nullptr;  // [q_len][mask_ld] boolean, or null
  bool attn_bool_blocks_if_true = true;
  std::ptrdiff_t mask_ld = 0;
  const float* kpm_add = nullptr;           // [kv_len] additive, or null
  const std::uint8_t* kpm_bool = nullptr;   // [kv_len] boolean, or null
  bool kpm_bool_blocks_if_true = true;
  bool causal = false;  // key j > query i is masked
  int kv_len = 0;       // keys at j >= kv_len (the bias_k position) are never masked

  bool any() const {
    return attn_add || attn_bool || kpm_add || kpm_bool || causal;
  }
  // Adds the mask of row i, keys [j0, j0 + n), to s[0 .. n).
  void apply(int i, int j0, int n, float* s) const {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    const int jend = std::min(j0 + n, kv_len);
    if (attn_add) {
      const float* m = attn_add + i * mask_ld;
      for (int j = j0; j < jend; ++j) s[j - j0] += m[j];
    }
    if (attn_bool) {
      const std::uint8_t* m = attn_bool + i * mask_ld;
      for (int j = j0; j < jend; ++j)
        if ((m[j] != 0) == attn_bool_blocks_if_true) s[j - j0] = kNegInf;
    }
    if (kpm_add) {
      for (int j = j0; j < jend; ++j) s[j - j0] += kpm_add[j];
    }
    if (kpm_bool) {
      for (int j = j0; j < jend; ++j)
        if ((kpm_bool[j] != 0) == kpm_bool_blocks_if_true) s[j - j0] = kNegInf;
    }
    if (causal) {
      for (int j = std::max(j0, i + 1); j < jend; ++j) s[j - j0] = kNegInf;
    }
  }
};

struct HeadView {
  const float* q = nullptr;   // [q_len][head_dim], pre-scaled
  const float* kt = nullptr;  // [head_dim][kv_ld]
  const float* v = nullptr;   // [kv_total][head_dim]
  std::ptrdiff_t kv_ld = 0;
  int q_len = 0;
  int kv_total = 0;  // kv_len plus the bias_k position, if any
  int head_dim = 0;
  float* out = nullptr;       // row i at out + i * out_ld, head_dim floats
  std::ptrdiff_t out_ld = 0;
};

template <int TQ, int TK>
std::size_t attend_tile_scratch_floats(int head_dim) {
  return static_cast<std::size_t>(TQ) * TK + static_cast<std::size_t>(TQ) * head_dim + 2 * TQ;
}

// Query rows [i0, i0 + rows), rows <= TQ.
template <int TQ, int TK>
void attend_tile(const HeadView& h, const MaskView& mask, int i0, int rows, float* scratch) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = h.head_dim;
  float* s = scratch;                      // [TQ][TK]
  float* o = s + TQ * TK;                  // [TQ][hd]
  float* m = o + static_cast<std::ptrdiff_t>(TQ) * hd;  // [TQ]
  float* l = m + TQ;                       // [TQ]
  for (int i = 0; i < rows; ++i) {
    m[i] = kNegInf;
    l[i] = 0.0f;
    for (int d = 0; d < hd; ++d) o[i * hd + d] = 0.0f;
  }
  // Causal: keys beyond the last row's diagonal are masked for every row of the tile (the
  // bias_k position, past kv_len, is never masked, so it is always visited).
  int kv_end = h.kv_total;
  const bool skip_causal = mask.causal && h.kv_total == mask.kv_len;
  if (skip_causal) kv_end = std::min(kv_end, i0 + rows);
  const bool masked = mask.any();

  for (int j0 = 0; j0 < kv_end; j0 += TK) {
    const int cols = std::min(TK, kv_end - j0);
    for (int i = 0; i < rows; ++i) {
      float* si = s + i * TK;
      for (int j = 0; j < cols; ++j) si[j] = 0.0f;
      const float* qi = h.q + static_cast<std::ptrdiff_t>(i0 + i) * hd;
      for (int d = 0; d < hd; ++d) {
        const float qd = qi[d];
        const float* kd = h.kt + d * h.kv_ld + j0;
        for (int j = 0; j < cols; ++j) si[j] += qd * kd[j];
      }
      if (masked) mask.apply(i0 + i, j0, cols, si);
      float mx = m[i];
      for (int j = 0; j < cols; ++j) mx = std::max(mx, si[j]);
      if (mx == kNegInf) continue;  // every key so far masked: nothing to accumulate
      const float alpha = std::exp(m[i] - mx);  // 0 when m[i] was -inf
      float sum = 0.0f;
      for (int j = 0; j < cols; ++j) {
        const float p = std::exp(si[j] - mx);
        si[j] = p;
        sum += p;
      }
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      float* oi = o + i * hd;
      if (alpha != 1.0f)
        for (int d = 0; d < hd; ++d) oi[d] *= alpha;
      for (int j = 0; j < cols; ++j) {
        const float p = si[j];
        if (p == 0.0f) continue;
        const float* vj = h.v + static_cast<std::ptrdiff_t>(j0 + j) * hd;
        for (int d = 0; d < hd; ++d) oi[d] += p * vj[d];
      }
    }
  }
  for (int i = 0; i < rows; ++i) {
    float* dst = h.out + static_cast<std::ptrdiff_t>(i0 + i) * h.out_ld;
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    const float* oi = o + i * hd;
    for (int d = 0; d < hd; ++d) dst[d] = oi[d] * inv;
  }
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
  if (mask.any()) mask.apply(i, 0, n, prob);
  float mx = kNegInf;
  for (int j = 0; j < n; ++j) mx = std::max(mx, prob[j]);
  float* dst = h.out + static_cast<std::ptrdiff_t>(i) * h.out_ld;
  for (int d = 0; d < hd; ++d) dst[d] = 0.0f;
  if (mx == kNegInf) {
    for (int j = 0; j < n; ++j) prob[j] = 0.0f;
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

}  // namespace edgeattn::kernels
