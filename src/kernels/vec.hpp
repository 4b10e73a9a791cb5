// The vector vocabulary the kernel templates are written in, so each kernel is written once:
// SimdVec<Arch> maps it onto an xsimd batch of the port's architecture, ScalarVec onto plain
// floats (the generic port, and targets without a SIMD unit xsimd knows).
//
// Everything in the kernel headers has internal linkage (an unnamed namespace): each port's
// translation unit is compiled with its own ISA flags, and an inline function with external
// linkage compiled with -mavx2 in one unit could otherwise be the copy the linker keeps for
// callers in generic code, which would then fault on a CPU without AVX2.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(EDGEATTN_KERNELS_USE_XSIMD)
#include <xsimd/xsimd.hpp>
#endif

namespace edgeattn::kernels {
namespace {

struct ScalarVec {
  using V = float;
  static constexpr int lanes = 1;
  static V load(const float* p) { return *p; }
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

#if defined(EDGEATTN_KERNELS_USE_XSIMD)
template <class Arch>
struct SimdVec {
  using V = xsimd::batch<float, Arch>;
  static constexpr int lanes = static_cast<int>(V::size);
  static V load(const float* p) { return V::load_unaligned(p); }
  static void store(float* p, V v) { v.store_unaligned(p); }
  static V broadcast(float x) { return V(x); }
  static V zero() { return V(0.0f); }
  static V fma(V a, V b, V c) { return xsimd::fma(a, b, c); }
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
    V r = xsimd::fnma(n, V(0.693359375f), x);   // ln 2 in two parts (Cody and Waite):
    r = xsimd::fnma(n, V(-2.12194440e-4f), r);  // n·0.693359375 is exact for |n| < 2^15
    V p = V(1.0f / 720.0f);
    p = xsimd::fma(p, r, V(1.0f / 120.0f));
    p = xsimd::fma(p, r, V(1.0f / 24.0f));
    p = xsimd::fma(p, r, V(1.0f / 6.0f));
    p = xsimd::fma(p, r, V(0.5f));
    p = xsimd::fma(p, r, V(1.0f));
    p = xsimd::fma(p, r, V(1.0f));
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
