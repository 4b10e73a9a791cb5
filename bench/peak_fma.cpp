// Peak fused multiply-add rate of one thread: enough independent FMA chains to keep every FMA
// unit busy (latency 4–5 cycles × 2 units → 10 chains; 12 used; the A72's 7-cycle latency at one
// 128-bit fmla per cycle needs 7), no memory traffic. On x86-64 each width is a function compiled
// for its instruction set (target attributes) and run only where the CPU has it; on AArch64 the
// 128-bit fmla (.4s), and where the kernel reports them (HWCAP asimdhp, asimddp) the fp16 fmla
// (.8h, 8 lanes) and sdot (16 int8 multiply-adds per instruction, counted as 2 operations
// each); elsewhere plain floats the compiler may vectorise.
#include "peak_fma.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif
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
#elif defined(__aarch64__)
double fma128(long iterations) {
  float32x4_t acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_f32(0.01f * static_cast<float>(i));
  const float32x4_t a = vdupq_n_f32(0.999999f), b = vdupq_n_f32(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = vfmaq_f32(b, acc[i], a);  // fmla .4s
  float32x4_t sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = vaddq_f32(sum, acc[i]);
  return vaddvq_f32(sum);
}

__attribute__((target("arch=armv8.2-a+fp16"))) double fma128h(long iterations) {
  float16x8_t acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_f16(static_cast<float16_t>(0.01f * i));
  const float16x8_t a = vdupq_n_f16(static_cast<float16_t>(0.999f));
  const float16x8_t b = vdupq_n_f16(static_cast<float16_t>(1e-3f));
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = vfmaq_f16(b, acc[i], a);  // fmla .8h
  float16x8_t sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = vaddq_f16(sum, acc[i]);
  return static_cast<double>(vgetq_lane_f16(sum, 0));
}

__attribute__((target("arch=armv8.2-a+dotprod"))) double dot128(long iterations) {
  int32x4_t acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = vdupq_n_s32(i);
  const int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = vdotq_s32(acc[i], a, b);  // sdot
  int32x4_t sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = vaddq_s32(sum, acc[i]);
  return static_cast<double>(vaddvq_s32(sum));
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
#elif defined(__aarch64__)
  out.push_back({"fma128", fma128, kChains * 4 * 2});
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  if (hwcap & HWCAP_ASIMDHP) out.push_back({"fma128h", fma128h, kChains * 8 * 2});
  if (hwcap & HWCAP_ASIMDDP) out.push_back({"dot128", dot128, kChains * 16 * 2});
#endif
#else
  out.push_back({"fma128", fma128, kChains * 4 * 2});
#endif
  return out;
}

}  // namespace edgeattn::bench
