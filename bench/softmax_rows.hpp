// The OpenBLAS composition's row softmax, vectorised the way a careful user would get it without
// writing intrinsics: on x86-64 a loop over expf that GCC vectorises with glibc's vector math
// (libmvec), its translation unit built with -O3 -ffast-math for AVX2+FMA and, where the
// compiler can, again for AVX-512; elsewhere (glibc 2.36 has no vector math for arm64 or armhf)
// xsimd::exp. Never edgeattn's own exp.
#pragma once

namespace edgeattn::bench {

// rows x cols scores, row stride ld: each row becomes exp(x - max) / sum.
using SoftmaxRows = void (*)(float* scores, int rows, int cols, int ld);

struct SoftmaxVariant {
  const char* name;  // "libmvec-avx512", "libmvec-avx2", "xsimd-neon", ...
  SoftmaxRows fn;
};

// The widest variant this CPU runs.
SoftmaxVariant best_softmax();

}  // namespace edgeattn::bench
