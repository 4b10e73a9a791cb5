// int8 weights: symmetric per-output-channel quantization at pack time, activations quantized
// at run time per row in blocks of kInt8Block inputs (a scale each), products accumulated
// exactly in int32 per block and added up in fp32, an epilogue that rescales by the weight's
// channel scale and adds the bias. A few calibrated outlier input features (at most
// kInt8MaxOutliers per matrix) stay out of int8: their activations stay fp32 and their weights
// are kept in f16 (LLM.int8()'s decomposition; BERT-like hidden states have such dimensions).
//
// Quantization (weights and activations alike): for a vector x with amax = max|x|, scale =
// amax / 127 and q = round-to-nearest-even(x · 127 / amax), clamped to [-127, 127] (never -128:
// the AVX2/SSE2/NEON dot products below rely on |q| <= 127 not to saturate). x ≈ q · scale.
// The outlier features count as 0 in both (excluded from amax, q = 0).
//
// Packed layout of one matrix (K rows × N columns, panels NR columns wide, O outlier
// features), 64-byte aligned parts: the int8 panels — panel p holds K4 = K rounded up to 4 rows
// as K4/4 groups of NR columns × 4 consecutive k (the operand order of vpdpbusd, sdot and the
// 4-wide dot products below), zero-padded past K and N —, then N rounded up to NR fp32 column
// scales, then the O outlier features (int32 indices of k), then their weights as f16, O rows
// of N rounded up to NR.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "gemm.hpp"

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace edgeattn::kernels {
namespace {  // internal linkage: see vec.hpp

// Activations get one scale per kInt8Block consecutive inputs (a multiple of 4: blocks hold
// whole groups of the packed layout); weights one per output channel.
constexpr int kInt8Block = 32;
constexpr int kInt8MaxOutliers = 8;
inline int int8_blocks(int K) { return (K + kInt8Block - 1) / kInt8Block; }

// Where the parts of one packed int8 matrix lie (bytes from its start).
struct Int8Layout {
  int K4 = 0, panels = 0, columns = 0;
  std::size_t scales = 0, features = 0, outlier_weights = 0, total = 0;
};
inline Int8Layout int8_layout(int K, int N, int NR, int outliers) {
  auto round64 = [](std::size_t x) { return (x + 63) / 64 * 64; };
  Int8Layout l;
  l.K4 = (K + 3) / 4 * 4;
  l.panels = (N + NR - 1) / NR;
  l.columns = l.panels * NR;
  const auto columns = static_cast<std::size_t>(l.columns);
  const auto O = static_cast<std::size_t>(outliers);
  l.scales = round64(columns * static_cast<std::size_t>(l.K4));
  l.features = l.scales + round64(columns * sizeof(float));
  l.outlier_weights = l.features + round64(O * sizeof(std::int32_t));
  l.total = l.outlier_weights + round64(O * columns * sizeof(std::uint16_t));
  return l;
}

// Bytes of one packed matrix of element type `type` (ElementType's values; outliers: int8's).
inline std::size_t packed_matrix_bytes(int K, int N, int NR, int type, int outliers = 0) {
  if (type == 3) return int8_layout(K, N, NR, outliers).total;
  return packed_b_elems(K, N, NR) * (type == 0 ? 4 : 2);
}

// The largest K an int8 projection accepts (the tested range of the kernels and of the
// quantized rows' workspace arithmetic).
constexpr int kInt8MaxK = 65536;

// q for x · inv, inv = 127 / amax (finite): the rounding is the float magic-number trick, exact
// round-to-nearest-even for |t| <= 2^22 (t is at most 127 here); two statements, so that no
// compiler contracts them into a fused multiply-add.
inline std::int8_t quantize_value(float x, float inv) {
  float t = x * inv;
  t = std::min(std::max(t, -127.0f), 127.0f);
  constexpr float kMagic = 12582912.0f;  // 1.5 · 2^23
  const float r = t + kMagic;
  return static_cast<std::int8_t>(static_cast<int>(r - kMagic));
}

// max |x[k]| for k in [k0, k1), as bits (an integer reduction, which vectorises): NaNs and
// infinities compare above every finite value.
inline std::uint32_t amax_bits(const float* x, int k0, int k1) {
  std::uint32_t m = 0;
  for (int k = k0; k < k1; ++k) {
    std::uint32_t b;
    std::memcpy(&b, x + k, sizeof b);
    m = std::max(m, b & 0x7fffffffu);
  }
  return m;
}

// Activations: rows [0, rows) of A (lda floats apart) into q (ldq bytes apart, K4 bytes per
// row, zero past K and at the outlier features), int8_blocks(K) scales per row (scales, in
// rows of `blocks`) and the fp32 values of the O outlier features (outlier_values, O per row).
// A row holding a NaN or an infinity gets NaN scales and outlier values (its outputs are NaN,
// as fp32 arithmetic would make them) and zeros.
inline void quantize_rows(const float* a, std::ptrdiff_t lda, int rows, int K,
                          const std::int32_t* features, int O, std::int8_t* q, std::ptrdiff_t ldq,
                          float* scales, float* outlier_values) {
  const int K4 = (K + 3) / 4 * 4, blocks = int8_blocks(K);
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  for (int r = 0; r < rows; ++r) {
    const float* x = a + r * lda;
    std::int8_t* y = q + r * ldq;
    float* s = scales + static_cast<std::ptrdiff_t>(r) * blocks;
    float* ov = outlier_values + static_cast<std::ptrdiff_t>(r) * O;
    if (amax_bits(x, 0, K) >= 0x7f800000u) {
      std::fill(y, y + K4, std::int8_t{0});
      std::fill(s, s + blocks, kNaN);
      std::fill(ov, ov + O, kNaN);
      continue;
    }
    for (int o = 0; o < O; ++o) ov[o] = x[features[o]];
    for (int blk = 0; blk < blocks; ++blk) {
      const int k0 = blk * kInt8Block, k1 = std::min(K, k0 + kInt8Block);
      bool has_outlier = false;
      for (int o = 0; o < O; ++o) has_outlier |= features[o] >= k0 && features[o] < k1;
      float amax = f32_from_bits(amax_bits(x, k0, k1));
      if (has_outlier) {  // rare: at most O blocks of a row
        amax = 0.0f;
        for (int k = k0; k < k1; ++k) {
          bool outlier = false;
          for (int o = 0; o < O; ++o) outlier |= features[o] == k;
          if (!outlier) amax = std::max(amax, std::fabs(x[k]));
        }
      }
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (int k = k0; k < k1; ++k) y[k] = quantize_value(x[k], inv);
      s[blk] = amax / 127.0f;
    }
    for (int k = K; k < K4; ++k) y[k] = 0;
    for (int o = 0; o < O; ++o) y[features[o]] = 0;
  }
}

// Packs B[k][n] = src(k, n) (element type S; `transposed`: stored [N][K]) as int8 in the layout
// above, the O outlier features (distinct, in [0, K)) apart. Returns how many values it cannot
// represent: source values that are not finite, outlier weights beyond f16's range.
template <class S>
std::size_t pack_int8_from(int NR, const typename S::Stored* src, bool transposed, int K, int N,
                           const std::int32_t* features, int O, void* dst) {
  const Int8Layout l = int8_layout(K, N, NR, O);
  auto* base = static_cast<unsigned char*>(dst);
  auto* scales = reinterpret_cast<float*>(base + l.scales);
  auto* stored_features = reinterpret_cast<std::int32_t*>(base + l.features);
  auto* outlier_w = reinterpret_cast<std::uint16_t*>(base + l.outlier_weights);
  auto at = [&](int k, int n) {
    return S::to_f32(transposed ? src[static_cast<std::size_t>(n) * K + k]
                                : src[static_cast<std::size_t>(k) * N + n]);
  };
  auto is_outlier = [&](int k) {
    for (int o = 0; o < O; ++o)
      if (features[o] == k) return true;
    return false;
  };
  std::size_t bad = 0;
  for (int o = 0; o < O; ++o) stored_features[o] = features[o];
  for (int p = 0; p < l.panels; ++p) {
    auto* panel = reinterpret_cast<std::int8_t*>(base) + static_cast<std::size_t>(p) * l.K4 * NR;
    for (int j = 0; j < NR; ++j) {
      const int n = p * NR + j;
      float amax = 0.0f;
      if (n < N)
        for (int k = 0; k < K; ++k) {
          const float w = at(k, n);
          if (!std::isfinite(w))
            ++bad;
          else if (!is_outlier(k))
            amax = std::max(amax, std::fabs(w));
        }
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      for (int k = 0; k < l.K4; ++k) {
        const bool kept = n < N && k < K && !is_outlier(k);
        panel[static_cast<std::size_t>(k / 4) * NR * 4 + j * 4 + k % 4] =
            kept ? quantize_value(at(k, n), inv) : std::int8_t{0};
      }
      scales[n] = amax / 127.0f;
      for (int o = 0; o < O; ++o) {
        bool overflow = false;
        const float w = n < N ? at(features[o], n) : 0.0f;
        outlier_w[static_cast<std::size_t>(o) * l.columns + n] =
            std::isfinite(w) ? f32_to_f16(w, &overflow) : std::uint16_t{0};
        bad += overflow ? 1 : 0;
      }
    }
  }
  return bad;
}

inline std::size_t pack_int8_any(int NR, const void* src, int src_type, bool transposed, int K,
                                 int N, const std::int32_t* features, int O, void* dst) {
  switch (src_type) {
    case 1:
      return pack_int8_from<ElemF16>(NR, static_cast<const std::uint16_t*>(src), transposed, K, N,
                                     features, O, dst);
    case 2:
      return pack_int8_from<ElemBF16>(NR, static_cast<const std::uint16_t*>(src), transposed, K, N,
                                      features, O, dst);
    default:
      return pack_int8_from<ElemF32>(NR, static_cast<const float*>(src), transposed, K, N, features,
                                     O, dst);
  }
}

inline std::int32_t load_u32(const std::int8_t* p) {
  std::int32_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// ---------------------------------------------------------------- 4-wide dot products
// Each policy multiplies the 4 int8 of one activation row at k..k+3 (broadcast) with `cols`
// packed columns of 4 weights each and adds the 4 products of each column into an int32
// accumulator: zero(), load_w(p), bcast_a(p), dot4(acc, a, w), store(int32 out[cols], acc).
// offset128: the policy multiplies (q + 128) (unsigned) and the driver subtracts 128 · Σq_w,
// which the micro-kernel computes alongside.

// Plain C++ (the generic port; the reference the others are tested against).
struct I8Scalar {
  static constexpr int cols = 1;
  static constexpr bool offset128 = false;
  using Acc = std::int32_t;
  struct W {
    std::int8_t b[4];
  };
  using A = W;
  static Acc zero() { return 0; }
  static W load_w(const std::int8_t* p) {
    W w;
    std::memcpy(w.b, p, 4);
    return w;
  }
  static A bcast_a(const std::int8_t* p) { return load_w(p); }
  static Acc dot4(Acc acc, const A& a, const W& w) {
    return acc + a.b[0] * w.b[0] + a.b[1] * w.b[1] + a.b[2] * w.b[2] + a.b[3] * w.b[3];
  }
  static void store(std::int32_t* c, Acc v) { *c = v; }
};

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
// AVX512-VNNI: vpdpbusd sums 4 u8 × s8 products per int32 lane without intermediate saturation.
struct I8Avx512Vnni {
  static constexpr int cols = 16;
  static constexpr bool offset128 = true;
  using Acc = __m512i;
  using W = __m512i;
  using A = __m512i;
  static Acc zero() { return _mm512_setzero_si512(); }
  static W load_w(const std::int8_t* p) { return _mm512_loadu_si512(p); }
  static A bcast_a(const std::int8_t* p) {
    return _mm512_set1_epi32(load_u32(p) ^ static_cast<std::int32_t>(0x80808080u));
  }
  static Acc dot4(Acc acc, A a, W w) { return _mm512_dpbusd_epi32(acc, a, w); }
  static void store(std::int32_t* c, Acc v) { _mm512_storeu_si512(c, v); }
  static Acc load(const std::int32_t* c) { return _mm512_loadu_si512(c); }
  // t += (acc − offset) · s in fp32, in registers (the driver's fold, without a round trip of
  // the int32 sums through memory).
  static void fold(float* t, Acc acc, Acc offset, float s) {
    const __m512 x = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, offset));
    _mm512_storeu_ps(t, _mm512_fmadd_ps(x, _mm512_set1_ps(s), _mm512_loadu_ps(t)));
  }
};
#endif

#if defined(__AVX2__)
// What the ymm policies share: 8 columns of int32 accumulators, unaligned loads and stores,
// the block fold in registers (FMA: every port that has AVX2 here has it).
struct I8Ymm {
  static constexpr int cols = 8;
  using Acc = __m256i;
  using W = __m256i;
  static Acc zero() { return _mm256_setzero_si256(); }
  static W load_w(const std::int8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static void store(std::int32_t* c, Acc v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), v);
  }
  static Acc load(const std::int32_t* c) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c));
  }
  static void fold(float* t, Acc acc, Acc offset, float s) {  // as I8Avx512Vnni's
    const __m256 x = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc, offset));
    _mm256_storeu_ps(t, _mm256_fmadd_ps(x, _mm256_set1_ps(s), _mm256_loadu_ps(t)));
  }
};

// AVX2: vpmaddubsw multiplies u8 by s8 and adds pairs into int16 with saturation, so the
// activation's sign moves onto the weight (vpsignb) and |q_a| <= 127 is the unsigned operand:
// a pair is at most 2 · 127 · 127 = 32258 < 32767 and never saturates. vpmaddwd by ones then
// adds the pairs into int32.
struct I8Avx2Madd : I8Ymm {
  static constexpr bool offset128 = false;
  struct A {
    __m256i magnitude, sign;
  };
  static A bcast_a(const std::int8_t* p) {
    const __m256i a = _mm256_set1_epi32(load_u32(p));
    return {_mm256_abs_epi8(a), a};
  }
  static Acc dot4(Acc acc, const A& a, W w) {
    const __m256i pairs = _mm256_maddubs_epi16(a.magnitude, _mm256_sign_epi8(w, a.sign));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};

#if defined(__AVXVNNI__) || (defined(__AVX512VNNI__) && defined(__AVX512VL__))
// vpdpbusd on ymm, 8 columns: VEX-encoded under AVX-VNNI (Alder Lake, Zen 5) or EVEX-encoded
// under AVX512-VNNI + VL (Ice Lake, Zen 4) — the same operation. The x86-avx2 port compiles
// this policy once for each (its own CPU check each), so the EVEX build, which this project's
// machines run, tests every line the VEX build shares.
struct I8Avx2Vnni : I8Ymm {
  static constexpr bool offset128 = true;
  using A = __m256i;
  static A bcast_a(const std::int8_t* p) {
    return _mm256_set1_epi32(load_u32(p) ^ static_cast<std::int32_t>(0x80808080u));
  }
  static Acc dot4(Acc acc, A a, W w) {
#if defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(acc, a, w);
#else
    return _mm256_dpbusd_epi32(acc, a, w);
#endif
  }
};
#endif  // ymm vpdpbusd
#endif  // __AVX2__

#if defined(__SSE2__)
// SSE2 (no pmaddubsw): both operands sign-extended to int16, pmaddwd adds pairs into int32
// (|product| <= 127 · 127: exact). Each accumulator holds 2 partial sums per column.
struct I8Sse2Madd {
  static constexpr int cols = 4;
  static constexpr bool offset128 = false;
  struct Acc {
    __m128i lo, hi;  // columns 0-1 and 2-3, two partial sums each
  };
  using W = Acc;  // int16: columns 0-1 × 4 k, columns 2-3 × 4 k
  using A = __m128i;
  static __m128i widen_lo(__m128i v) { return _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8); }
  static __m128i widen_hi(__m128i v) { return _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8); }
  static Acc zero() { return {_mm_setzero_si128(), _mm_setzero_si128()}; }
  static W load_w(const std::int8_t* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return {widen_lo(v), widen_hi(v)};
  }
  static A bcast_a(const std::int8_t* p) {
    const __m128i a = widen_lo(_mm_cvtsi32_si128(load_u32(p)));
    return _mm_unpacklo_epi64(a, a);
  }
  static Acc dot4(const Acc& acc, A a, const W& w) {
    return {_mm_add_epi32(acc.lo, _mm_madd_epi16(w.lo, a)),
            _mm_add_epi32(acc.hi, _mm_madd_epi16(w.hi, a))};
  }
  static void store(std::int32_t* c, const Acc& v) {
    const __m128 lo = _mm_castsi128_ps(v.lo), hi = _mm_castsi128_ps(v.hi);
    const __m128i even = _mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
    const __m128i odd = _mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c), _mm_add_epi32(even, odd));
  }
};
#endif

#if defined(__ARM_NEON)
// NEON without dot products: smull (int8 × int8 -> int16, exact: |product| <= 127 · 127) and
// sadalp (adds pairs of int16 into int32 lanes). Each accumulator holds 2 partial sums per column.
struct I8NeonMull {
  static constexpr int cols = 4;
  static constexpr bool offset128 = false;
  struct Acc {
    int32x4_t lo, hi;  // columns 0-1 and 2-3, two partial sums each
  };
  using W = int8x16_t;
  using A = int8x16_t;
  static Acc zero() { return {vdupq_n_s32(0), vdupq_n_s32(0)}; }
  static W load_w(const std::int8_t* p) { return vld1q_s8(p); }
  static A bcast_a(const std::int8_t* p) { return vreinterpretq_s8_s32(vdupq_n_s32(load_u32(p))); }
  static Acc dot4(const Acc& acc, A a, W w) {
    return {vpadalq_s16(acc.lo, vmull_s8(vget_low_s8(w), vget_low_s8(a))),
            vpadalq_s16(acc.hi, vmull_s8(vget_high_s8(w), vget_high_s8(a)))};
  }
  static void store(std::int32_t* c, const Acc& v) {
#if defined(__aarch64__)
    vst1q_s32(c, vpaddq_s32(v.lo, v.hi));
#else
    vst1q_s32(c, vcombine_s32(vpadd_s32(vget_low_s32(v.lo), vget_high_s32(v.lo)),
                              vpadd_s32(vget_low_s32(v.hi), vget_high_s32(v.hi))));
#endif
  }
};
#endif

#if defined(__ARM_NEON) && defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
// ARMv8.2 dot products (Cortex-A55, A76 and later; the arm-neon64-fp16dot port): sdot adds the
// 4 int8 × int8 products of each int32 lane exactly, signed × signed, so no offset. 4 columns
// per accumulator, the packed layout's 4 consecutive k of each column being one lane.
struct I8NeonDot {
  static constexpr int cols = 4;
  static constexpr bool offset128 = false;
  using Acc = int32x4_t;
  using W = int8x16_t;
  using A = int8x16_t;
  static Acc zero() { return vdupq_n_s32(0); }
  static W load_w(const std::int8_t* p) { return vld1q_s8(p); }
  static A bcast_a(const std::int8_t* p) { return vreinterpretq_s8_s32(vdupq_n_s32(load_u32(p))); }
  static Acc dot4(Acc acc, A a, W w) { return vdotq_s32(acc, w, a); }
  static void store(std::int32_t* c, Acc v) { vst1q_s32(c, v); }
  static void fold(float* t, Acc acc, Acc offset, float s) {  // as I8Avx512Vnni's
    const float32x4_t x = vcvtq_f32_s32(vsubq_s32(acc, offset));
    vst1q_f32(t, vfmaq_n_f32(vld1q_f32(t), x, s));
  }
};
#endif

// Whether policy D has its own micro-kernel (below) instead of gemm_i8_ukernel's broadcasts.
template <class D>
constexpr bool kLaneDot = false;

#if defined(__ARM_NEON) && defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
template <>
constexpr bool kLaneDot<I8NeonDot> = true;

// sdot by element: one 16-byte load of an activation row holds 4 groups of 4 k, and
// `sdot v.4s, w.16b, a.4b[g]` (vdotq_laneq_s32) takes group g as the multiplier: no broadcast
// (ld1r, which also occupies a vector pipe on the A76), a quarter of the activation loads. An
// MR × 12 tile is MR·3 int32 accumulators + MR activation vectors + the weight vectors: 6 × 12
// is 18 + 6 + 3 = 27 registers. gemm_i8_ukernel's contract (no offset: sdot is signed × signed).
template <int G, int MR, int NV>
inline void sdot_lane_group(int32x4_t (&acc)[MR][NV], const int8x16_t (&av)[MR],
                            const std::int8_t* bk) {
  EDGEATTN_NEON_UNROLL
  for (int v = 0; v < NV; ++v) {
    const int8x16_t w = vld1q_s8(bk + v * 16);
    EDGEATTN_NEON_UNROLL
    for (int i = 0; i < MR; ++i) acc[i][v] = vdotq_laneq_s32(acc[i][v], w, av[i], G);
  }
}

template <int MR, int NV>
inline void sdot_zero(int32x4_t (&acc)[MR][NV]) {
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) {
    EDGEATTN_NEON_UNROLL
    for (int v = 0; v < NV; ++v) acc[i][v] = vdupq_n_s32(0);
  }
}

// 16 k (4 groups) of an MR × NV·4 tile: one 16-byte activation load per row.
template <int MR, int NV>
inline void sdot_lane_16k(int32x4_t (&acc)[MR][NV], const std::int8_t* const (&rows)[MR], int k,
                          const std::int8_t* bk) {
  constexpr int NR = NV * 4;
  int8x16_t av[MR];
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) av[i] = vld1q_s8(rows[i] + k);
  sdot_lane_group<0>(acc, av, bk);
  sdot_lane_group<1>(acc, av, bk + 4 * NR);
  sdot_lane_group<2>(acc, av, bk + 8 * NR);
  sdot_lane_group<3>(acc, av, bk + 12 * NR);
}

// tile += a block's int32 sums × each row's block scale, in fp32. Every row of the tile, those
// past mr too (they repeat row mr − 1 and are never stored): no branch per row.
template <int MR, int NV>
inline void sdot_fold(const int32x4_t (&acc)[MR][NV], const float* const (&row_scales)[MR], int blk,
                      float* tile) {
  // The fp32 tile stays in memory (L1), loaded and stored once per block: an opaque pointer each
  // time, or GCC keeps it in 18 registers across the blocks and spills the accumulators.
  __asm__("" : "+r"(tile));
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) {
    const float s = row_scales[i][blk];
    EDGEATTN_NEON_UNROLL
    for (int v = 0; v < NV; ++v)
      I8NeonDot::fold(tile + (i * NV + v) * 4, acc[i][v], vdupq_n_s32(0), s);
  }
}

template <int MR, int NR>
inline void gemm_i8_ukernel_sdot(int mr, int K4, const std::int8_t* a, std::ptrdiff_t lda,
                                 const float* scales, int blocks, const std::int8_t* b,
                                 float* tile) {
  static_assert(NR % 4 == 0 && kInt8Block == 32, "NR: whole 4-column groups; 2 × 16 k per block");
  constexpr int NV = NR / 4;
  const std::int8_t* rows[MR];
  const float* row_scales[MR];
  EDGEATTN_NEON_UNROLL
  for (int i = 0; i < MR; ++i) {
    rows[i] = a + std::min(i, mr - 1) * lda;
    row_scales[i] = scales + static_cast<std::ptrdiff_t>(std::min(i, mr - 1)) * blocks;
  }
  int32x4_t acc[MR][NV];

  int blk = 0, k0 = 0;
  for (; k0 + kInt8Block <= K4; ++blk, k0 += kInt8Block) {  // whole blocks, straight-line
    sdot_zero(acc);
    sdot_lane_16k(acc, rows, k0, b + static_cast<std::ptrdiff_t>(k0) * NR);
    sdot_lane_16k(acc, rows, k0 + 16, b + static_cast<std::ptrdiff_t>(k0 + 16) * NR);
    sdot_fold(acc, row_scales, blk, tile);
  }
  if (k0 < K4) {  // the last, partial block: 16 k, then groups of 4
    sdot_zero(acc);
    int k = k0;
    if (k + 16 <= K4) {
      sdot_lane_16k(acc, rows, k, b + static_cast<std::ptrdiff_t>(k) * NR);
      k += 16;
    }
    _Pragma("GCC unroll 1") for (; k < K4; k += 4) {
      int8x16_t av[MR];
      EDGEATTN_NEON_UNROLL
      for (int i = 0; i < MR; ++i) av[i] = vreinterpretq_s8_s32(vdupq_n_s32(load_u32(rows[i] + k)));
      sdot_lane_group<0>(acc, av, b + static_cast<std::ptrdiff_t>(k) * NR);
    }
    sdot_fold(acc, row_scales, blk, tile);
  }
}
#endif

// ---------------------------------------------------------------- micro-kernel and driver

// Policies with a fold() (the ymm and zmm ones) add a block's sums into the fp32 tile in
// registers; the others through memory (fold_block below).
template <class D, class = void>
struct HasFold : std::false_type {};
template <class D>
struct HasFold<
    D, std::void_t<decltype(D::fold(static_cast<float*>(nullptr), D::zero(), D::zero(), 0.0f))>>
    : std::true_type {};

// t[0..D::cols) += (acc − offset) · s in fp32.
template <class D>
inline void fold_block(float* t, const typename D::Acc& acc, const typename D::Acc& offset,
                       float s) {
  if constexpr (HasFold<D>::value) {
    D::fold(t, acc, offset, s);
  } else {
    std::int32_t sums[D::cols], shares[D::cols];
    D::store(sums, acc);
    D::store(shares, offset);
    // One rounding or two, but the same in every instantiation (1-row and MR-row tiles must
    // agree bit for bit): an explicit fma where the target has one, else nothing to contract.
    for (int c = 0; c < D::cols; ++c) {
      const float x = static_cast<float>(sums[c] - shares[c]);
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
      t[c] = std::fma(x, s, t[c]);
#else
      t[c] += x * s;
#endif
    }
  }
}

// The offset's share of each block for one packed panel (policies that offset the activations
// by +128): shares[blk][n] = 128 · Σ_k w[k][n] over block blk, as the dot product of the
// offset row with the weights.
template <class D, int NR>
inline void block_offset_shares(int K4, const std::int8_t* b, std::int32_t* shares) {
  constexpr int NV = NR / D::cols;
  static const std::int8_t kZeroRow[4] = {0, 0, 0, 0};  // (0 + 128) against each weight
  const typename D::A offset = D::bcast_a(kZeroRow);
  for (int blk = 0, k0 = 0; k0 < K4; ++blk, k0 += kInt8Block) {
    typename D::Acc s[NV];
    for (int v = 0; v < NV; ++v) s[v] = D::zero();
    for (int k = k0; k < std::min(K4, k0 + kInt8Block); k += 4)
      for (int v = 0; v < NV; ++v)
        s[v] = D::dot4(s[v], offset,
                       D::load_w(b + static_cast<std::ptrdiff_t>(k) * NR + v * D::cols * 4));
    for (int v = 0; v < NV; ++v) D::store(shares + blk * NR + v * D::cols, s[v]);
  }
}

// tile[i][·] += Σ over the blocks of kInt8Block k of (row i's int32 dot product with one packed
// panel b over the block − the offset's share) · row i's block scale, exactly in int32 within
// a block. The offset's share (policies that offset the activations by +128: 128 · Σ_k w[k][n]
// over the block) is not stored with the weights (per-block sums would break the memory
// bound): kGivenShares reads it from `shares` (block_offset_shares, once per panel for all its
// row tiles), else it is computed here, one more dot product per weight vector for the tile.
// Rows past mr alias the last valid row and are not folded.
template <class D, int MR, int NR, bool kGivenShares = false>
inline void gemm_i8_ukernel(int mr, int K4, const std::int8_t* a, std::ptrdiff_t lda,
                            const float* scales, int blocks, const std::int8_t* b, float* tile,
                            const std::int32_t* shares = nullptr) {
  static_assert(NR % D::cols == 0, "NR must be a multiple of the policy's columns");
  constexpr int NV = NR / D::cols;
  static const std::int8_t kZeroRow[4] = {0, 0, 0, 0};  // offset: (0 + 128) against each weight
  const std::int8_t* rows[MR];
  const float* row_scales[MR];
  for (int i = 0; i < MR; ++i) {
    rows[i] = a + std::min(i, mr - 1) * lda;
    row_scales[i] = scales + static_cast<std::ptrdiff_t>(std::min(i, mr - 1)) * blocks;
  }
  const typename D::A offset = D::bcast_a(kZeroRow);
  for (int blk = 0, k0 = 0; k0 < K4; ++blk, k0 += kInt8Block) {
    const int k1 = std::min(K4, k0 + kInt8Block);
    typename D::Acc acc[MR][NV], offset_share[NV];
    for (int v = 0; v < NV; ++v) offset_share[v] = D::zero();
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = D::zero();
    for (int k = k0; k < k1; k += 4) {
      const std::int8_t* bk = b + static_cast<std::ptrdiff_t>(k) * NR;
      typename D::W bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = D::load_w(bk + v * D::cols * 4);
      if constexpr (D::offset128 && !kGivenShares)
        for (int v = 0; v < NV; ++v) offset_share[v] = D::dot4(offset_share[v], offset, bv[v]);
      for (int i = 0; i < MR; ++i) {
        const typename D::A ai = D::bcast_a(rows[i] + k);
        for (int v = 0; v < NV; ++v) acc[i][v] = D::dot4(acc[i][v], ai, bv[v]);
      }
    }
    if constexpr (kGivenShares)
      for (int v = 0; v < NV; ++v) offset_share[v] = D::load(shares + blk * NR + v * D::cols);
    for (int i = 0; i < MR; ++i) {
      if (i >= mr) break;
      const float s = row_scales[i][blk];
      for (int v = 0; v < NV; ++v)
        fold_block<D>(tile + i * NR + v * D::cols, acc[i][v], offset_share[v], s);
    }
  }
}

// Projection driver for int8 weights: rows [row0, row0 + rows) of the quantized activations ×
// panels [panel0, panel1) of the packed matrix (whose outlier features are a.outlier_count, the
// same the rows were quantized with). Each block of kInt8Block inputs is an exact int32 dot
// product, scaled by the row's block scale and added in fp32 (in a fixed order: the result
// does not depend on the task grid); then the weight's channel scale, the outlier features in
// fp32, and the bias, scale and OutputMap (store_tile).
template <class D, int MR, int NR>
void gemm_i8_block(const Int8Rows& a, int row0, int rows, int K, const void* packed, int panel0,
                   int panel1, int N, const OutputMap& out) {
  const int O = a.outlier_count;
  const Int8Layout l = int8_layout(K, N, NR, O);
  const auto* base = static_cast<const unsigned char*>(packed);
  const auto* w_scale = reinterpret_cast<const float*>(base + l.scales);
  const auto* outlier_w = reinterpret_cast<const std::uint16_t*>(base + l.outlier_weights);
  alignas(64) float tile[MR * NR];
  alignas(64) float wo[kInt8MaxOutliers * NR];  // this panel's outlier weights, widened
  // Offset shares once per panel where there are several row tiles and K is at most
  // kSharedBlocks blocks (a 6-row VNNI tile spent one dot product in seven on them).
  constexpr int kSharedBlocks = 64;
  constexpr bool kShareable = D::offset128 && MR > 1;
  const bool share = kShareable && rows > MR && l.K4 <= kSharedBlocks * kInt8Block;
  alignas(64) std::int32_t shares[kShareable ? kSharedBlocks * NR : 1];
  for (int p = panel0; p < panel1; ++p) {
    const auto* bp =
        reinterpret_cast<const std::int8_t*>(base) + static_cast<std::size_t>(p) * l.K4 * NR;
    const int n0 = p * NR;
    const int nr = std::min(NR, N - n0);
    for (int o = 0; o < O; ++o)
      for (int j = 0; j < NR; ++j)
        wo[o * NR + j] = f16_to_f32(outlier_w[static_cast<std::size_t>(o) * l.columns + n0 + j]);
    if (share) block_offset_shares<D, NR>(l.K4, bp, shares);
    for (int r = row0; r < row0 + rows; r += MR) {
      const int mr = std::min(MR, row0 + rows - r);
      std::fill(tile, tile + MR * NR, 0.0f);
      const float* row_scales = a.scales + static_cast<std::ptrdiff_t>(r) * a.blocks;
      if constexpr (kLaneDot<D>) {
#if defined(__ARM_NEON) && defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
        gemm_i8_ukernel_sdot<MR, NR>(mr, l.K4, a.q + r * a.ld, a.ld, row_scales, a.blocks, bp,
                                     tile);
#endif
      } else if (share)
        gemm_i8_ukernel<D, MR, NR, kShareable>(mr, l.K4, a.q + r * a.ld, a.ld, row_scales, a.blocks,
                                               bp, tile, shares);
      else
        gemm_i8_ukernel<D, MR, NR>(mr, l.K4, a.q + r * a.ld, a.ld, row_scales, a.blocks, bp, tile);
      for (int i = 0; i < mr; ++i) {
        const float* ov = a.outliers + static_cast<std::ptrdiff_t>(r + i) * O;
        for (int j = 0; j < NR; ++j) tile[i * NR + j] *= w_scale[n0 + j];
        for (int o = 0; o < O; ++o)
          for (int j = 0; j < NR; ++j) tile[i * NR + j] += ov[o] * wo[o * NR + j];
      }
      store_tile<NR>(tile, mr, nr, r, n0, out);
    }
  }
}

}  // namespace
}  // namespace edgeattn::kernels
