// The vector vocabulary the kernel templates are written in, so each kernel is written once:
// SimdVec<Arch> maps it onto an xsimd batch of the port's architecture, ScalarVec onto plain
// floats (the generic port, and targets without a SIMD unit xsimd knows), LanesVec<N> onto N
// plain floats with the semantics of a wide SIMD port (its tests on any CPU).
//
// Tails: where a Vec has `masked_tails`, the kernels finish a row's last n < lanes elements
// with load_partial(p, n, fill)/store_partial(p, n, v) (lanes past n read as `fill`, never touch
// memory and are not written: AVX-512's masked loads and stores) instead of a scalar loop.
//
// Everything in the kernel headers has internal linkage (an unnamed namespace): each port's
// translation unit is compiled with its own ISA flags, and an inline function with external
// linkage compiled with -mavx2 in one unit could otherwise be the copy the linker keeps for
// callers in generic code, which would then fault on a CPU without AVX2.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "convert.hpp"

#if defined(EDGEATTN_KERNELS_USE_XSIMD)
#include <xsimd/xsimd.hpp>
#endif

namespace edgeattn::kernels {
namespace {

struct ScalarVec {
  using V = float;
  static constexpr int lanes = 1;
  static constexpr bool masked_tails = false;
  static V load(const float* p) { return *p; }
  static V load_f16(const std::uint16_t* p) { return f16_to_f32(*p); }
  static V load_bf16(const std::uint16_t* p) { return bf16_to_f32(*p); }
  static V load_i8(const std::int8_t* p) { return static_cast<float>(*p); }
  static void store(float* p, V v) { *p = v; }
  static V broadcast(float x) { return x; }
  static V zero() { return 0.0f; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V max(V a, V b) { return std::max(a, b); }
  static V exp(V x) { return std::exp(x); }
  static float hsum(V x) { return x; }
  static float hmax(V x) { return x; }
};

// N lanes of plain floats, with masked tails: a wide SIMD port's vector semantics (lane count,
// partial loads and stores, the same exp polynomial lane by lane) in portable C++. The
// `emulated-avx512` port instantiates it with x86-avx512's tiles, so every test exercises that
// port's tile geometry and tails on CPUs without AVX-512; it is not meant to be fast.
template <int N>
struct LanesVec {
  struct V {
    float x[N];
  };
  static constexpr int lanes = N;
  static constexpr bool masked_tails = true;
  template <class F>
  static V map(F f) {
    V r;
    for (int i = 0; i < N; ++i) r.x[i] = f(i);
    return r;
  }
  static V load(const float* p) {
    return map([&](int i) { return p[i]; });
  }
  static V load_f16(const std::uint16_t* p) {
    return map([&](int i) { return f16_to_f32(p[i]); });
  }
  static V load_bf16(const std::uint16_t* p) {
    return map([&](int i) { return bf16_to_f32(p[i]); });
  }
  static V load_i8(const std::int8_t* p) {
    return map([&](int i) { return static_cast<float>(p[i]); });
  }
  static void store(float* p, V v) {
    for (int i = 0; i < N; ++i) p[i] = v.x[i];
  }
  static V load_partial(const float* p, int n, float fill) {
    return map([&](int i) { return i < n ? p[i] : fill; });
  }
  static void store_partial(float* p, int n, V v) {
    for (int i = 0; i < n; ++i) p[i] = v.x[i];
  }
  static V broadcast(float x) {
    return map([&](int) { return x; });
  }
  static V zero() { return broadcast(0.0f); }
  static V fma(V a, V b, V c) {
    return map([&](int i) { return std::fma(a.x[i], b.x[i], c.x[i]); });
  }
  static V add(V a, V b) {
    return map([&](int i) { return a.x[i] + b.x[i]; });
  }
  static V sub(V a, V b) {
    return map([&](int i) { return a.x[i] - b.x[i]; });
  }
  static V mul(V a, V b) {
    return map([&](int i) { return a.x[i] * b.x[i]; });
  }
  static V max(V a, V b) {  // as x86's maxps: the second operand where either is NaN
    return map([&](int i) { return a.x[i] > b.x[i] ? a.x[i] : b.x[i]; });
  }
  static V exp(V v) {  // SimdVec::exp's algorithm, one lane at a time
    return map([&](int i) {
      const float x = v.x[i];
      const float n = std::nearbyint(x * 1.44269504088896341f);
      float r = std::fma(-n, 0.693359375f, x);
      r = std::fma(-n, -2.12194440e-4f, r);
      float p = 1.0f / 720.0f;
      p = std::fma(p, r, 1.0f / 120.0f);
      p = std::fma(p, r, 1.0f / 24.0f);
      p = std::fma(p, r, 1.0f / 6.0f);
      p = std::fma(p, r, 0.5f);
      p = std::fma(p, r, 1.0f);
      p = std::fma(p, r, 1.0f);
      if (x < -87.0f) return 0.0f;
      if (x != x) return x;
      std::int32_t bits;
      std::memcpy(&bits, &p, sizeof bits);
      bits += static_cast<std::int32_t>(n) * (1 << 23);
      float y;
      std::memcpy(&y, &bits, sizeof y);
      return y;
    });
  }
  static float hsum(V v) {  // pairwise, as a SIMD reduction adds
    float t[N];
    store(t, v);
    for (int w = N / 2; w > 0; w /= 2)
      for (int i = 0; i < w; ++i) t[i] += t[i + w];
    return t[0];
  }
  static float hmax(V v) {
    float m = v.x[0];
    for (int i = 1; i < N; ++i) m = std::max(m, v.x[i]);
    return m;
  }
};

#if defined(EDGEATTN_KERNELS_USE_XSIMD)
// 16-bit weights widened to fp32 inside a kernel's loads, one vector of lanes at a time.
// widen_u16: `lanes` uint16 zero-extended to int32 lanes. widen_f16: binary16 -> fp32, with the
// ISA's conversion where it has one (F16C, AVX-512F, AArch64's fcvtl), else f16_bits_to_f32.
// widen_i8: `lanes` int8 (an int8 KV cache) sign-extended to int32 lanes, reading exactly
// `lanes` bytes.
template <class Arch>
using IntBatch = xsimd::batch<std::int32_t, Arch>;

// The bit manipulation of f16_to_f32 (convert.hpp) on whole vectors: integers and one exact
// int-to-float conversion, so it is right under flush-to-zero (ARMv7 NEON).
template <class Arch>
xsimd::batch<float, Arch> f16_bits_to_f32(IntBatch<Arch> h) {
  using I = IntBatch<Arch>;
  using V = xsimd::batch<float, Arch>;
  const I sign = (h & I(0x8000)) << 16;
  const I em = h & I(0x7fff);
  const I normal = (em << 13) + I(112 << 23);
  const I inf_nan = (em << 13) | I(0x7f800000);
  const I subnormal = xsimd::bitwise_cast<I>(xsimd::to_float(em) * V(5.9604644775390625e-8f));
  const I bits =
      xsimd::select(em >= I(0x7c00), inf_nan, xsimd::select(em < I(0x0400), subnormal, normal));
  return xsimd::bitwise_cast<V>(bits | sign);
}

#if defined(__SSE2__)
inline IntBatch<xsimd::sse2> widen_u16(const std::uint16_t* p, xsimd::sse2) {
  const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm_unpacklo_epi16(h, _mm_setzero_si128());
}
inline xsimd::batch<float, xsimd::sse2> widen_f16(const std::uint16_t* p, xsimd::sse2) {
  return f16_bits_to_f32<xsimd::sse2>(widen_u16(p, xsimd::sse2{}));  // F16C is not SSE2
}
inline IntBatch<xsimd::sse2> widen_i8(const std::int8_t* p, xsimd::sse2) {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  __m128i x = _mm_cvtsi32_si128(four);
  x = _mm_unpacklo_epi8(x, x);
  return _mm_srai_epi32(_mm_unpacklo_epi16(x, x), 24);  // sign-extended bytes
}
#endif
#if defined(__AVX2__) && defined(__F16C__)
inline IntBatch<xsimd::fma3<xsimd::avx2>> widen_u16(const std::uint16_t* p,
                                                    xsimd::fma3<xsimd::avx2>) {
  return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline xsimd::batch<float, xsimd::fma3<xsimd::avx2>> widen_f16(const std::uint16_t* p,
                                                               xsimd::fma3<xsimd::avx2>) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));  // vcvtph2ps
}
inline IntBatch<xsimd::fma3<xsimd::avx2>> widen_i8(const std::int8_t* p, xsimd::fma3<xsimd::avx2>) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}
#endif
#if defined(__AVX512F__)
inline IntBatch<xsimd::avx512bw> widen_u16(const std::uint16_t* p, xsimd::avx512bw) {
  return _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline xsimd::batch<float, xsimd::avx512bw> widen_f16(const std::uint16_t* p, xsimd::avx512bw) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline IntBatch<xsimd::avx512bw> widen_i8(const std::int8_t* p, xsimd::avx512bw) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
inline IntBatch<xsimd::neon64> widen_u16(const std::uint16_t* p, xsimd::neon64) {
  return vreinterpretq_s32_u32(vmovl_u16(vld1_u16(p)));
}
inline xsimd::batch<float, xsimd::neon64> widen_f16(const std::uint16_t* p, xsimd::neon64) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));  // fcvtl
}
inline IntBatch<xsimd::neon64> widen_i8(const std::int8_t* p, xsimd::neon64) {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)))));
}
#elif defined(__ARM_NEON)
inline IntBatch<xsimd::neon> widen_u16(const std::uint16_t* p, xsimd::neon) {
  return vreinterpretq_s32_u32(vmovl_u16(vld1_u16(p)));
}
inline IntBatch<xsimd::neon> widen_i8(const std::int8_t* p, xsimd::neon) {
  std::int32_t four;
  std::memcpy(&four, p, sizeof four);
  return vmovl_s16(vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)))));
}
inline xsimd::batch<float, xsimd::neon> widen_f16(const std::uint16_t* p, xsimd::neon) {
#if defined(__ARM_NEON_FP) && (__ARM_NEON_FP & 2)  // VFPv4's half-precision conversions (NEON-FP16)
  // GCC's arm_neon.h declares vcvt_f32_f16 only under -mfp16-format=ieee, a build-wide option
  // this port does not impose: the instruction itself.
  float32x4_t widened;
  __asm__("vcvt.f32.f16 %q0, %P1" : "=w"(widened) : "w"(vld1_u16(p)));
  return widened;
#else
  return f16_bits_to_f32<xsimd::neon>(widen_u16(p, xsimd::neon{}));
#endif
}
#endif

// What an architecture's batches add to xsimd's vocabulary: fused multiply-adds, and masked
// tails where the ISA has them.
template <class Arch>
struct SimdWords {
  using V = xsimd::batch<float, Arch>;
  static constexpr bool masked_tails = false;
  static V fma(V a, V b, V c) { return xsimd::fma(a, b, c); }
  static V fnma(V a, V b, V c) { return xsimd::fnma(a, b, c); }  // c - a·b
};
#if defined(__AVX512F__)
// xsimd 8.1 has no fused multiply-add for its AVX-512 batches (its generic fallback multiplies,
// then adds: twice the instructions and two roundings) and no masked loads: intrinsics.
template <>
struct SimdWords<xsimd::avx512bw> {
  using V = xsimd::batch<float, xsimd::avx512bw>;
  static constexpr bool masked_tails = true;
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }  // n < 16
  static V load_partial(const float* p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), first(n), p);
  }
  static void store_partial(float* p, int n, V v) { _mm512_mask_storeu_ps(p, first(n), v); }
};
#endif

template <class Arch>
struct SimdVec : SimdWords<Arch> {
  using V = xsimd::batch<float, Arch>;
  using W = SimdWords<Arch>;
  static constexpr int lanes = static_cast<int>(V::size);
  static V load(const float* p) { return V::load_unaligned(p); }
  static V load_f16(const std::uint16_t* p) { return widen_f16(p, Arch{}); }
  static V load_i8(const std::int8_t* p) { return xsimd::to_float(widen_i8(p, Arch{})); }
  static V load_bf16(const std::uint16_t* p) {  // bf16 is fp32's upper half: a shift
#if defined(__ARM_NEON) && defined(__aarch64__)
    // xsimd's shift of a neon64 batch went through memory (spilled the GEMM's accumulators):
    // one widening shift, ushll.
    if constexpr (std::is_same_v<Arch, xsimd::neon64>)
      return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
#endif
    return xsimd::bitwise_cast<V>(widen_u16(p, Arch{}) << 16);
  }
  static void store(float* p, V v) { v.store_unaligned(p); }
  static V broadcast(float x) { return V(x); }
  static V zero() { return V(0.0f); }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V max(V a, V b) { return xsimd::max(a, b); }
  // exp(x) for the softmax, whose arguments are scores minus their row maximum: x <= 0 (or NaN).
  // x = n·ln2 + r with |r| <= ln2/2; e^r by its Taylor polynomial of degree 6 (truncation
  // below 1.2e-7 relative), 2^n added to the exponent field. Relative error below 5e-7 for
  // -87 <= x <= 0 (tested); 0 below -87, where e^x < 1.7e-38 is nothing against the row's
  // largest term, e^0 = 1. Skips xsimd::exp's overflow and infinity handling, which these
  // arguments never need (15–18 % fewer instructions per vector).
  static V exp(V x) {
    using I = xsimd::batch<std::int32_t, Arch>;
    const V n = xsimd::nearbyint(x * V(1.44269504088896341f));
    V r = W::fnma(n, V(0.693359375f), x);   // ln 2 in two parts (Cody and Waite):
    r = W::fnma(n, V(-2.12194440e-4f), r);  // n·0.693359375 is exact for |n| < 2^15
    V p = V(1.0f / 720.0f);
    p = W::fma(p, r, V(1.0f / 120.0f));
    p = W::fma(p, r, V(1.0f / 24.0f));
    p = W::fma(p, r, V(1.0f / 6.0f));
    p = W::fma(p, r, V(0.5f));
    p = W::fma(p, r, V(1.0f));
    p = W::fma(p, r, V(1.0f));
    const I scaled = xsimd::bitwise_cast<I>(p) + (xsimd::to_int(n) << 23);
    return xsimd::select(x < V(-87.0f), V(0.0f), xsimd::bitwise_cast<V>(scaled));
  }
  static float hsum(V x) { return xsimd::hadd(x); }
  static float hmax(V x) {  // xsimd 8.1 has no horizontal max
    alignas(64) float t[lanes];
    x.store_aligned(t);
    float m = t[0];
    for (int i = 1; i < lanes; ++i) m = std::max(m, t[i]);
    return m;
  }
};
#endif

}  // namespace
}  // namespace edgeattn::kernels
