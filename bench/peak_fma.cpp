// Peak fused multiply-add rate of one thread: enough independent FMA chains to keep every FMA
// unit busy (latency 4–5 cycles × 2 units → 10 chains; 12 used), no memory traffic. On x86-64
// each width is a function compiled for its instruction set (target attributes) and run only
// where the CPU has it; elsewhere plain floats the compiler may vectorise.
#include "peak_fma.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgeattn::bench {
namespace {

constexpr int kChains = 12;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) double fma512(long iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.01f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  // Stored and summed: GCC 12's _mm512_reduce_add_ps warns of an uninitialised variable.
  float out[16];
  _mm512_storeu_ps(out, sum);
  float total = 0.0f;
  for (float x : out) total += x;
  return total;
}

__attribute__((target("avx2,fma"))) double fma256(long iterations) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(0.01f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
}
#else
double fma128(long iterations) {
  float acc[kChains][4];
  for (int i = 0; i < kChains; ++i)
    for (int l = 0; l < 4; ++l) acc[i][l] = 0.01f * static_cast<float>(i);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i)
      for (int l = 0; l < 4; ++l) acc[i][l] = acc[i][l] * 0.999999f + 1e-7f;
  double s = 0;
  for (int i = 0; i < kChains; ++i) s += acc[i][0];
  return s;
}
#endif

}  // namespace

std::vector<PeakFma> peak_fma_variants() {
  std::vector<PeakFma> out;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) out.push_back({"fma512", fma512, kChains * 16 * 2});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    out.push_back({"fma256", fma256, kChains * 8 * 2});
#else
  out.push_back({"fma128", fma128, kChains * 4 * 2});
#endif
  return out;
}

}  // namespace edgeattn::bench
