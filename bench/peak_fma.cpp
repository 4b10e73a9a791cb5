// Peak fused multiply-add rate of one thread: enough independent FMA chains to keep every FMA
// unit busy (latency 4–5 cycles × 2 units → 10 chains; 12 used), no memory traffic. This file
// is compiled with -mavx2 -mfma on x86-64; elsewhere it uses plain floats the compiler may
// vectorise, and the rate then shows what that target's compiler makes of it.
#include "peak_fma.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace edgeattn::bench {

double fma_chains(long iterations) {
#if defined(__AVX2__) && defined(__FMA__)
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.01f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
#else
  float acc[12][4];
  for (int i = 0; i < 12; ++i)
    for (int l = 0; l < 4; ++l) acc[i][l] = 0.01f * static_cast<float>(i);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i)
      for (int l = 0; l < 4; ++l) acc[i][l] = acc[i][l] * 0.999999f + 1e-7f;
  double s = 0;
  for (int i = 0; i < 12; ++i) s += acc[i][0];
  return s;
#endif
}

double fma_flops_per_iteration() {
#if defined(__AVX2__) && defined(__FMA__)
  return 12 * 8 * 2;
#else
  return 12 * 4 * 2;
#endif
}

}  // namespace edgeattn::bench
