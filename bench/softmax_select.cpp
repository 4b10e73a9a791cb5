#include "softmax_rows.hpp"

namespace edgeattn::bench {

#if defined(EDGEATTN_SOFTMAX_HAVE_AVX512)
void softmax_rows_avx512(float*, int, int, int);
#endif
#if defined(EDGEATTN_SOFTMAX_HAVE_AVX2)
void softmax_rows_avx2(float*, int, int, int);
#endif
void softmax_rows_xsimd(float*, int, int, int);

SoftmaxVariant best_softmax() {
#if defined(__x86_64__)
  __builtin_cpu_init();
#endif
#if defined(EDGEATTN_SOFTMAX_HAVE_AVX512)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
    return {"libmvec-avx512", softmax_rows_avx512};
#endif
#if defined(EDGEATTN_SOFTMAX_HAVE_AVX2)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {"libmvec-avx2", softmax_rows_avx2};
#endif
  return {"xsimd", softmax_rows_xsimd};  // arm64, armhf; x86-64 without AVX2 (SSE2)
}

}  // namespace edgeattn::bench
