// One body, compiled once per variant (bench/CMakeLists.txt sets EDGEATTN_SOFTMAX_VARIANT and
// the flags of that file); softmax_select.cpp picks the widest the CPU runs.
#include <cmath>

#if defined(EDGEATTN_SOFTMAX_XSIMD)
#include <xsimd/xsimd.hpp>
#endif

#define EDGEATTN_CAT2(a, b) a##b
#define EDGEATTN_CAT(a, b) EDGEATTN_CAT2(a, b)

namespace edgeattn::bench {

void EDGEATTN_CAT(softmax_rows_, EDGEATTN_SOFTMAX_VARIANT)(float* scores, int rows, int cols,
                                                           int ld) {
  for (int r = 0; r < rows; ++r) {
    float* row = scores + static_cast<long>(r) * ld;
#if defined(EDGEATTN_SOFTMAX_XSIMD)
    using batch = xsimd::batch<float>;
    constexpr int W = static_cast<int>(batch::size);
    const int vec_end = cols / W * W;
    batch vmax(-INFINITY);
    for (int j = 0; j < vec_end; j += W) vmax = xsimd::max(vmax, batch::load_unaligned(row + j));
    alignas(64) float lanes[W];
    vmax.store_aligned(lanes);
    float mx = -INFINITY;
    for (int l = 0; l < W; ++l) mx = std::fmax(mx, lanes[l]);
    for (int j = vec_end; j < cols; ++j) mx = std::fmax(mx, row[j]);
    batch vsum(0.0f);
    const batch bmx(mx);
    for (int j = 0; j < vec_end; j += W) {
      const batch e = xsimd::exp(batch::load_unaligned(row + j) - bmx);
      e.store_unaligned(row + j);
      vsum += e;
    }
    float sum = xsimd::hadd(vsum);
    for (int j = vec_end; j < cols; ++j) sum += (row[j] = std::exp(row[j] - mx));
#else
    // -ffast-math: GCC vectorises these loops, the exp as calls to libmvec's _ZGV*_expf.
    float mx = row[0];
    for (int j = 1; j < cols; ++j) mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < cols; ++j) {
      const float e = expf(row[j] - mx);
      row[j] = e;
      sum += e;
    }
#endif
    const float inv = 1.0f / sum;
    for (int j = 0; j < cols; ++j) row[j] *= inv;
  }
}

}  // namespace edgeattn::bench
