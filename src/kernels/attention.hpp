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
#include <type_traits>

#include "gemm.hpp"
#include "types.hpp"

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

inline bool mask_any(const MaskView& m) {
  return m.attn_add || m.attn_bool || m.kpm_add || m.kpm_bool || m.causal || m.valid_keys >= 0 ||
         m.window > 0;
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
  if (mk.ring_capacity > 0) {
    const int qage = mk.query_age0 - i;
    for (int j = j0; j < jend; ++j) {
      const int age = (mk.ring_newest_slot - j + mk.ring_capacity) % mk.ring_capacity;
      if ((mk.causal && age < qage) || (mk.window > 0 && age >= qage + mk.window))
        s[j - j0] = kNegInf;
    }
  } else if (mk.causal) {
    const long first_blocked = static_cast<long>(i) + 1 + mk.causal_offset;
    for (int j = static_cast<int>(std::clamp<long>(first_blocked, j0, jend)); j < jend; ++j)
      s[j - j0] = kNegInf;
  }
}

// The keys a query tile [i0, i0 + rows) can see at all: causal and valid-length limits let it
// stop early (keys past kv_len, the bias_k position, are never masked, so then it cannot).
inline int visible_keys(const MaskView& mask, int kv_total, int i0, int rows) {
  int kv_end = kv_total;
  if (kv_total != mask.kv_len || mask.ring_capacity > 0) return kv_end;
  if (mask.causal) {
    const long last = static_cast<long>(i0) + rows + mask.causal_offset;
    kv_end = static_cast<int>(std::clamp<long>(last, 0, kv_end));
  }
  if (mask.valid_keys >= 0) kv_end = std::min(kv_end, mask.valid_keys);
  return kv_end;
}

inline int round_up_int(int n, int m) { return (n + m - 1) / m * m; }

// s[j] *= scale[j] for j < n (an int8 cache's per-position scales).
template <class Vec>
inline void scale_columns(const float* scale, int n, float* s) {
  constexpr int L = Vec::lanes;
  int j = 0;
  for (; j + L <= n; j += L) Vec::store(s + j, Vec::mul(Vec::load(s + j), Vec::load(scale + j)));
  for (; j < n; ++j) s[j] *= scale[j];
}

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
// become constants the compiler unrolls. HD = 0 takes h.head_dim and h.v_dim. KV is the element
// type of Kᵀ and V (fp32, or a f16 or int8 KV cache widened in the micro-kernel's loads; int8's
// per-position scales multiply the scores' columns (keys) and the probabilities (values) —
// the softmax's sum uses the probabilities themselves).
template <class Vec, int MR, int NR, int TQ, int TK, int HD, class KV = ElemF32>
void attend_tile(const HeadView& h, const MaskView& mask, int i0, int rows, float* scratch) {
  static_assert(TK % NR == 0, "TK must be a multiple of NR");
  using V = typename Vec::V;
  constexpr int L = Vec::lanes;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int hd = HD > 0 ? HD : h.head_dim;
  const int vd = HD > 0 ? HD : h.v_dim;  // V's width
  const int vd_pad = round_up_int(vd, NR);
  float* s = scratch;                                       // [TQ][TK]
  float* o = s + TQ * TK;                                   // [TQ][vd_pad]
  float* m = o + static_cast<std::ptrdiff_t>(TQ) * vd_pad;  // [TQ]
  float* l = m + TQ;                                        // [TQ]
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
  const auto* kt = static_cast<const typename KV::Stored*>(h.kt);
  const auto* vv = static_cast<const typename KV::Stored*>(h.v);

  for (int j0 = 0; j0 < kv_end; j0 += TK) {
    const int cols = std::min(TK, kv_end - j0);
    for (int ir = 0; ir < rows; ir += MR)
      for (int jc = 0; jc < cols; jc += NR)
        gemm_ukernel<Vec, MR, NR, false, KV>(std::min(MR, rows - ir), hd, q + ir * hd, hd,
                                             kt + j0 + jc, h.kv_ld, s + ir * TK + jc, TK);
    const int vec_cols = cols / L * L;
    for (int i = 0; i < rows; ++i) {
      float* si = s + i * TK;
      if constexpr (kScaledElem<KV>) scale_columns<Vec>(h.k_scale + j0, cols, si);
      if (capped) apply_softcap(mask.softcap, cols, si);
      if (masked) apply_mask(mask, i0 + i, j0, cols, si);
      V vmax = Vec::broadcast(kNegInf);
      for (int j = 0; j < vec_cols; j += L) vmax = Vec::max(vmax, Vec::load(si + j));
      if constexpr (Vec::masked_tails) {
        if (vec_cols < cols)
          vmax = Vec::max(vmax, Vec::load_partial(si + vec_cols, cols - vec_cols, kNegInf));
      }
      float mx = std::max(m[i], Vec::hmax(vmax));
      if constexpr (!Vec::masked_tails)
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
      if constexpr (Vec::masked_tails) {
        if (vec_cols < cols) {
          const int t = cols - vec_cols;
          const V p = Vec::exp(Vec::sub(Vec::load_partial(si + vec_cols, t, kNegInf), vmx));
          Vec::store_partial(si + vec_cols, t, p);
          vsum = Vec::add(vsum, p);
        }
      }
      float sum = Vec::hsum(vsum);
      if constexpr (!Vec::masked_tails)
        for (int j = vec_cols; j < cols; ++j) sum += (si[j] = std::exp(si[j] - mx));
      l[i] = l[i] * alpha + sum;
      m[i] = mx;
      if constexpr (kScaledElem<KV>) scale_columns<Vec>(h.v_scale + j0, cols, si);
      if (alpha != 1.0f) {
        float* oi = o + i * vd_pad;
        const V va = Vec::broadcast(alpha);
        for (int d = 0; d < vd_pad; d += L) Vec::store(oi + d, Vec::mul(Vec::load(oi + d), va));
      }
    }
    for (int ir = 0; ir < rows; ir += MR)
      for (int dc = 0; dc < vd; dc += NR)
        gemm_ukernel<Vec, MR, NR, true, KV>(std::min(MR, rows - ir), cols, s + ir * TK, TK,
                                            vv + static_cast<std::ptrdiff_t>(j0) * vd + dc, vd,
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
  if constexpr (Vec::masked_tails) {
    if (i < n) Vec::store_partial(y + i, n - i, Vec::exp(Vec::load_partial(x + i, n - i, 0.0f)));
  } else {
    for (; i < n; ++i) y[i] = std::exp(x[i]);
  }
}

// o[0 .. U·lanes) = Σ_j p[j] · v[j][0 .. U·lanes) over j < n (v rows ld apart), accumulated in
// 2·U registers: even keys into one set, odd keys into the other, added at the end, so that
// 2·U independent FMA chains hide the FMA's latency (one set of U chains over 256 keys was
// latency-bound).
template <class Vec, class KV, int U>
inline void accumulate_pv(const float* p, int n, const typename KV::Stored* v, std::ptrdiff_t ld,
                          float* o) {
  using V = typename Vec::V;
  constexpr int L = Vec::lanes;
  V even[U], odd[U];
  for (int u = 0; u < U; ++u) even[u] = odd[u] = Vec::zero();
  constexpr int kAhead = 16;  // rows: see the Kᵀ prefetch in attend_row_partial
  constexpr int kBytes = U * L * static_cast<int>(sizeof(typename KV::Stored));
  auto prefetch = [&](int j) {
    if (j + kAhead < n)
      for (int b = 0; b < kBytes; b += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(v + (j + kAhead) * ld) + b);
  };
  int j = 0;
  for (; j + 2 <= n; j += 2) {
    prefetch(j);
    prefetch(j + 1);
    const V p0 = Vec::broadcast(p[j]), p1 = Vec::broadcast(p[j + 1]);
    const typename KV::Stored* v0 = v + j * ld;
    const typename KV::Stored* v1 = v0 + ld;
    for (int u = 0; u < U; ++u) {
      even[u] = Vec::fma(p0, KV::template load<Vec>(v0 + u * L), even[u]);
      odd[u] = Vec::fma(p1, KV::template load<Vec>(v1 + u * L), odd[u]);
    }
  }
  if (j < n) {
    const V pj = Vec::broadcast(p[j]);
    for (int u = 0; u < U; ++u)
      even[u] = Vec::fma(pj, KV::template load<Vec>(v + j * ld + u * L), even[u]);
  }
  for (int u = 0; u < U; ++u) Vec::store(o + u * L, Vec::add(even[u], odd[u]));
}

// Split-KV decode: one query row against keys [j0, j1) only, leaving the partial softmax state
// in `state` = {m, l, o[v_dim]}: the running max, the sum of exp(s − m) and the unnormalised
// Σ exp(s − m)·V. Chunks are merged by merge_partials in a fixed order. Both passes stream the
// cache once: Kᵀ row by row (vectorised over keys), V row by row (vectorised over d). `s` is
// scratch for j1 − j0 scores. KV: the element type of Kᵀ and V (a f16 or int8 cache widened as
// loaded; int8's scales as in attend_tile).
template <class Vec, class KV = ElemF32>
void attend_row_partial(const HeadView& h, const MaskView& mask, int i, int j0, int j1, float* s,
                        float* state) {
  using V = typename Vec::V;
  constexpr int L = Vec::lanes;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int n = j1 - j0, hd = h.head_dim, vd = h.v_dim;
  const int nv = n / L * L;
  const float* q = h.q + static_cast<std::ptrdiff_t>(i) * hd;
  using E = typename KV::Stored;
  const E* kt = static_cast<const E*>(h.kt);
  const E* vv = static_cast<const E*>(h.v);
  auto load = [](const E* p) { return KV::template load<Vec>(p); };
  // Generic (auto), so that it is instantiated only where Vec has masked tails.
  auto load_partial = [](const E* p, auto t) { return KV::template load_partial<Vec>(p, t, 0.0f); };
  for (int j = 0; j < n; ++j) s[j] = 0.0f;
  int d = 0;
  // Kᵀ's rows of this chunk are short runs (n elements) kv_ld apart, too short for the hardware
  // prefetchers to follow from memory: each pass requests the lines of the rows kAhead on (a
  // pass takes less time than a load from memory).
  constexpr int kLine = 64, kAhead = 32;
  const int row_bytes = n * static_cast<int>(sizeof(E));
  auto prefetch_rows = [&](int d0, int d1) {
    for (int r = d0; r < std::min(d1, hd); ++r) {
      const char* row = reinterpret_cast<const char*>(kt + r * h.kv_ld + j0);
      for (int b = 0; b < row_bytes; b += kLine) __builtin_prefetch(row + b);
    }
  };
  // A widened Kᵀ (f16, int8) goes one row per pass: a single sequential stream through the
  // chunk, which the hardware prefetchers follow, and the widening costs more than s's loads
  // and stores (four rows with prefetches ran the S6 decode step 11 % (f16) and 14 % (int8)
  // slower on Zen 4). fp32 rows the other way round: s's traffic would bound them.
  constexpr bool kOneRow = !std::is_same_v<KV, ElemF32>;
  if (!kOneRow) prefetch_rows(0, kAhead);
  for (; !kOneRow && d + 4 <= hd; d += 4) {  // four rows of Kᵀ per pass over s
    prefetch_rows(d + kAhead, d + kAhead + 4);
    const E* k0 = kt + d * h.kv_ld + j0;
    const E* k1 = k0 + h.kv_ld;
    const E* k2 = k1 + h.kv_ld;
    const E* k3 = k2 + h.kv_ld;
    const V q0 = Vec::broadcast(q[d]), q1 = Vec::broadcast(q[d + 1]), q2 = Vec::broadcast(q[d + 2]),
            q3 = Vec::broadcast(q[d + 3]);
    for (int j = 0; j < nv; j += L) {
      V acc = Vec::fma(q0, load(k0 + j), Vec::load(s + j));
      acc = Vec::fma(q1, load(k1 + j), acc);
      acc = Vec::fma(q2, load(k2 + j), acc);
      Vec::store(s + j, Vec::fma(q3, load(k3 + j), acc));
    }
    if constexpr (Vec::masked_tails) {
      if (nv < n) {
        const int t = n - nv;
        V acc = Vec::fma(q0, load_partial(k0 + nv, t), Vec::load_partial(s + nv, t, 0.0f));
        acc = Vec::fma(q1, load_partial(k1 + nv, t), acc);
        acc = Vec::fma(q2, load_partial(k2 + nv, t), acc);
        Vec::store_partial(s + nv, t, Vec::fma(q3, load_partial(k3 + nv, t), acc));
      }
    } else {
      for (int j = nv; j < n; ++j)
        s[j] += q[d] * KV::to_f32(k0[j]) + q[d + 1] * KV::to_f32(k1[j]) +
                q[d + 2] * KV::to_f32(k2[j]) + q[d + 3] * KV::to_f32(k3[j]);
    }
  }
  for (; d < hd; ++d) {
    const E* kd = kt + d * h.kv_ld + j0;
    const V qd = Vec::broadcast(q[d]);
    for (int j = 0; j < nv; j += L) Vec::store(s + j, Vec::fma(qd, load(kd + j), Vec::load(s + j)));
    if constexpr (Vec::masked_tails) {
      if (nv < n)
        Vec::store_partial(
            s + nv, n - nv,
            Vec::fma(qd, load_partial(kd + nv, n - nv), Vec::load_partial(s + nv, n - nv, 0.0f)));
    } else {
      for (int j = nv; j < n; ++j) s[j] += q[d] * KV::to_f32(kd[j]);
    }
  }
  if constexpr (kScaledElem<KV>) scale_columns<Vec>(h.k_scale + j0, n, s);
  if (mask.softcap > 0.0f) apply_softcap(mask.softcap, n, s);
  if (mask_any(mask)) apply_mask(mask, i, j0, n, s);

  float* o = state + 2;
  for (int e = 0; e < vd; ++e) o[e] = 0.0f;
  V vmax = Vec::broadcast(kNegInf);
  for (int j = 0; j < nv; j += L) vmax = Vec::max(vmax, Vec::load(s + j));
  if constexpr (Vec::masked_tails) {
    if (nv < n) vmax = Vec::max(vmax, Vec::load_partial(s + nv, n - nv, kNegInf));
  }
  float mx = Vec::hmax(vmax);
  if constexpr (!Vec::masked_tails)
    for (int j = nv; j < n; ++j) mx = std::max(mx, s[j]);
  state[0] = mx;
  if (mx == kNegInf) {  // every key masked: contributes nothing, unless a score is NaN
    float poison = 0.0f;
    for (int j = 0; j < n; ++j)
      if (s[j] != s[j]) poison = s[j];
    state[1] = poison;
    return;
  }
  const V vmx = Vec::broadcast(mx);
  V vsum = Vec::zero();
  for (int j = 0; j < nv; j += L) {
    const V p = Vec::exp(Vec::sub(Vec::load(s + j), vmx));
    Vec::store(s + j, p);
    vsum = Vec::add(vsum, p);
  }
  if constexpr (Vec::masked_tails) {
    if (nv < n) {
      const V p = Vec::exp(Vec::sub(Vec::load_partial(s + nv, n - nv, kNegInf), vmx));
      Vec::store_partial(s + nv, n - nv, p);
      vsum = Vec::add(vsum, p);
    }
  }
  float sum = Vec::hsum(vsum);
  if constexpr (!Vec::masked_tails)
    for (int j = nv; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
  state[1] = sum;
  if constexpr (kScaledElem<KV>) scale_columns<Vec>(h.v_scale + j0, n, s);
  // O = P·V in blocks of up to 4 vectors of o held in registers over all n keys (o lies at an
  // odd offset in the state: accumulating through memory would split a cache line per access
  // and chain every key's store to the next key's load).
  const int vdv = vd / L * L;
  const E* v0 = vv + static_cast<std::ptrdiff_t>(j0) * vd;
  int e0 = 0;
  for (; e0 + 4 * L <= vdv; e0 += 4 * L) accumulate_pv<Vec, KV, 4>(s, n, v0 + e0, vd, o + e0);
  switch ((vdv - e0) / L) {
    case 3:
      accumulate_pv<Vec, KV, 3>(s, n, v0 + e0, vd, o + e0);
      break;
    case 2:
      accumulate_pv<Vec, KV, 2>(s, n, v0 + e0, vd, o + e0);
      break;
    case 1:
      accumulate_pv<Vec, KV, 1>(s, n, v0 + e0, vd, o + e0);
      break;
    default:
      break;
  }
  if (vdv < vd) {
    for (int j = 0; j < n; ++j) {
      const E* vj = v0 + static_cast<std::ptrdiff_t>(j) * vd;
      if constexpr (Vec::masked_tails) {
        Vec::store_partial(o + vdv, vd - vdv,
                           Vec::fma(Vec::broadcast(s[j]), load_partial(vj + vdv, vd - vdv),
                                    Vec::load_partial(o + vdv, vd - vdv, 0.0f)));
      } else {
        for (int e = vdv; e < vd; ++e) o[e] += s[j] * KV::to_f32(vj[e]);
      }
    }
  }
}

// Merges `chunks` partial states (each 2 + v_dim floats, consecutive) in order into one output
// row: exact softmax over the union of the chunks' keys; zeros when every key is masked.
inline void merge_partials(const float* states, int chunks, int vd, float* out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const std::ptrdiff_t stride = 2 + vd;
  float mx = kNegInf, poison = 0.0f;
  for (int c = 0; c < chunks; ++c) {
    mx = std::max(mx, states[c * stride]);
    if (states[c * stride + 1] != states[c * stride + 1]) poison = states[c * stride + 1];
  }
  for (int e = 0; e < vd; ++e) out[e] = 0.0f;
  if (mx == kNegInf) {
    for (int e = 0; e < vd; ++e) out[e] = poison;
    return;
  }
  float l = 0.0f;
  for (int c = 0; c < chunks; ++c) {
    const float* st = states + c * stride;
    if (st[0] == kNegInf) {
      if (st[1] != st[1]) l = st[1];
      continue;
    }
    const float w = std::exp(st[0] - mx);
    l += st[1] * w;
    for (int e = 0; e < vd; ++e) out[e] += st[2 + e] * w;
  }
  const float inv = 1.0f / l;
  for (int e = 0; e < vd; ++e) out[e] *= inv;
}

// One query row with its probabilities materialised into prob[0 .. kv_total) (fp32 Kᵀ and V: the
// rows path serves the layer and the attention core, never a KV cache). When every key
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
    const float* kd = static_cast<const float*>(h.kt) + d * h.kv_ld;
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
    const float* vj = static_cast<const float*>(h.v) + static_cast<std::ptrdiff_t>(j) * vd;
    for (int d = 0; d < vd; ++d) dst[d] += p * vj[d];
  }
  snapshot(3);
}

}  // namespace
}  // namespace edgeattn::kernels
