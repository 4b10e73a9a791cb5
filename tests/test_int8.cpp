// int8 weights, white box: the quantization rule (weights at pack time, activations per row),
// the packed layout, and every int8 GEMM variant of every port this CPU runs against the
// double-precision product of the same dequantized weights and the same quantized activations
// (int32 accumulation is exact, so fp32 tightness), including the ±127 extremes at which
// AVX2's vpmaddubsw would saturate if the kernel let it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernel_tables.hpp"

using namespace edgeattn;
using test::runnable_tables;

namespace {

// The rule as documented (edgeattn.hpp): q = rne(x · 127/amax) clamped to ±127.
int rule_q(float x, float amax) {
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  return static_cast<int>(std::nearbyint(std::min(std::max(x * inv, -127.0f), 127.0f)));
}

struct PackedInt8 {
  std::vector<float> storage;  // 64-byte aligned enough for the kernels' unaligned loads
  kernels::Int8Layout layout;
  const std::int8_t* panels() const { return reinterpret_cast<const std::int8_t*>(storage.data()); }
  const float* scales() const {
    return reinterpret_cast<const float*>(reinterpret_cast<const char*>(storage.data()) +
                                          layout.scales);
  }
  const std::int32_t* sums() const {
    return reinterpret_cast<const std::int32_t*>(reinterpret_cast<const char*>(storage.data()) +
                                                 layout.sums);
  }
  int q(int k, int n, int NR) const {
    const int p = n / NR, j = n % NR;
    return panels()[static_cast<std::size_t>(p) * layout.K4 * NR +
                    static_cast<std::size_t>(k / 4) * NR * 4 + j * 4 + k % 4];
  }
};

// w is [N][K] (out_in).
PackedInt8 pack(const std::vector<float>& w, int K, int N, int NR) {
  PackedInt8 p;
  p.layout = kernels::int8_layout(K, N, NR);
  p.storage.assign(p.layout.total / sizeof(float) + 1, -1.0f);
  REQUIRE(kernels::pack_int8_any(NR, w.data(), 0, /*transposed=*/true, K, N, p.storage.data()) ==
          0);
  return p;
}

}  // namespace

TEST_CASE("int8 packing: the documented rule, the layout, scales and column sums",
          "[kernels][int8][quick]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (const int NR : {8, 12, 24, 48}) {
    for (const int K : {1, 3, 4, 37}) {
      for (const int N : {1, NR - 1, NR + 3}) {
        INFO("NR " << NR << " K " << K << " N " << N);
        std::vector<float> w(static_cast<std::size_t>(N) * K);
        for (float& v : w) v = d(rng);
        if (N > 1) std::fill(w.begin() + K, w.begin() + 2 * K, 0.0f);  // an all-zero column
        const PackedInt8 p = pack(w, K, N, NR);
        REQUIRE(p.layout.K4 % 4 == 0);
        REQUIRE(p.layout.scales % 64 == 0);
        REQUIRE(p.layout.sums % 64 == 0);
        REQUIRE(p.layout.total % 64 == 0);
        for (int n = 0; n < p.layout.panels * NR; ++n) {
          float amax = 0.0f;
          for (int k = 0; k < K && n < N; ++k) amax = std::max(amax, std::fabs(w[n * K + k]));
          int sum = 0;
          for (int k = 0; k < p.layout.K4; ++k) {
            const int want = n < N && k < K ? rule_q(w[n * K + k], amax) : 0;
            REQUIRE(p.q(k, n, NR) == want);
            sum += want;
          }
          REQUIRE(p.scales()[n] == amax / 127.0f);
          REQUIRE(p.sums()[n] == sum);
          if (n < N && amax > 0) {
            int extreme = 0;  // the largest magnitude maps to ±127 exactly
            for (int k = 0; k < K; ++k) extreme = std::max(extreme, std::abs(p.q(k, n, NR)));
            REQUIRE(extreme == 127);
          }
        }
      }
    }
  }
  // A non-finite weight cannot be quantized: counted, so create() reports it.
  std::vector<float> w(16, 1.0f);
  w[3] = std::numeric_limits<float>::infinity();
  w[9] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(kernels::int8_layout(4, 4, 8).total / 4);
  REQUIRE(kernels::pack_int8_any(8, w.data(), 0, true, 4, 4, out.data()) == 2);
}

TEST_CASE("int8 activations: every port quantizes rows by the documented rule",
          "[kernels][int8][quick]") {
  std::mt19937 rng(12);
  std::normal_distribution<float> d(0.0f, 3.0f);
  const int K = 77, K4 = 80, rows = 5;
  std::vector<float> a(static_cast<std::size_t>(rows) * (K + 1));
  for (float& v : a) v = d(rng);
  for (int k = 0; k < K; ++k) a[(K + 1) + k] = 0.0f;             // row 1: zeros
  a[2 * (K + 1) + 5] = std::numeric_limits<float>::quiet_NaN();  // row 2: a NaN
  a[3 * (K + 1) + 9] = -std::numeric_limits<float>::infinity();  // row 3: an infinity
  for (int k = 0; k < K; ++k) a[4 * (K + 1) + k] = (k % 2 ? 1.0f : -1.0f) * 0.5f * (k + 1);
  for (const KernelTable* t : runnable_tables()) {
    INFO("port " << t->name);
    std::vector<std::int8_t> q(static_cast<std::size_t>(rows) * K4, 99);
    std::vector<float> s(rows);
    t->quantize_rows(a.data(), K + 1, rows, K, q.data(), K4, s.data());
    for (int r = 0; r < rows; ++r) {
      const float* x = a.data() + r * (K + 1);
      if (r == 2 || r == 3) {  // non-finite: NaN scale (NaN outputs), zeros
        REQUIRE(std::isnan(s[r]));
        for (int k = 0; k < K4; ++k) REQUIRE(q[r * K4 + k] == 0);
        continue;
      }
      float amax = 0.0f;
      for (int k = 0; k < K; ++k) amax = std::max(amax, std::fabs(x[k]));
      REQUIRE(s[r] == amax / 127.0f);
      for (int k = 0; k < K4; ++k) {
        INFO("row " << r << " k " << k);
        REQUIRE(q[r * K4 + k] == (k < K ? rule_q(x[k], amax) : 0));
      }
    }
  }
}

TEST_CASE("int8 GEMM: every variant of every port, exact int32 products, at the extremes",
          "[kernels][int8][quick]") {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> qd(-127, 127);
  std::uniform_real_distribution<float> sd(0.01f, 2.0f);
  for (const KernelTable* t : runnable_tables()) {
    const int NR = t->gemm_nr;
    for (int v = 0; v < t->int8_gemm_count; ++v) {
      const Int8Gemm& g = t->int8_gemms[v];
      if (!g.cpu_supports()) continue;
      for (const int mode : {0, 1, 2}) {  // random; all +127 · +127; alternating ±127 signs
        for (const int rows : {1, g.mr - 1, g.mr, 2 * g.mr + 1}) {
          for (const int N : {1, NR - 1, NR, 2 * NR + 5}) {
            for (const int K : {1, 6, 64, mode == 0 ? 131 : 4100}) {
              if (rows < 1) continue;
              INFO("port " << t->name << " variant " << g.isa << " mode " << mode << " rows "
                           << rows << " N " << N << " K " << K);
              const int K4 = (K + 3) / 4 * 4, lda = K4 + 8;
              auto pick = [&](int r, int k) {
                if (mode == 1) return 127;
                if (mode == 2) return (r + k) % 2 ? 127 : -127;
                return qd(rng);
              };
              // Weights with integer values and column scales: w = q · s, whose quantization
              // gives q back when a ±127 is present in the column (forced at k = 0).
              std::vector<int> qw(static_cast<std::size_t>(N) * K);
              std::vector<float> w(qw.size()), col_scale(N);
              for (int n = 0; n < N; ++n) {
                col_scale[n] = sd(rng);
                for (int k = 0; k < K; ++k) {
                  int q = pick(n + 1, k);
                  if (k == 0 && mode == 0) q = n % 2 ? 127 : -127;
                  qw[n * K + k] = q;
                  w[n * K + k] = static_cast<float>(q) * col_scale[n];
                }
              }
              const PackedInt8 p = pack(w, K, N, NR);
              for (int n = 0; n < N; ++n)
                for (int k = 0; k < K; ++k) REQUIRE(p.q(k, n, NR) == qw[n * K + k]);
              std::vector<std::int8_t> qa(static_cast<std::size_t>(rows) * lda, 55);
              std::vector<float> a_scale(rows);
              for (int r = 0; r < rows; ++r) {
                a_scale[r] = sd(rng);
                for (int k = 0; k < K4; ++k)
                  qa[r * lda + k] = static_cast<std::int8_t>(k < K ? pick(r, k) : 0);
              }
              std::vector<float> bias(N);
              for (float& b : bias) b = sd(rng);
              std::vector<float> c(static_cast<std::size_t>(rows) * N, -7.0f);
              const kernels::OutputMap map{c.data(), N, 1, N, 0, bias.data(), 0.5f};
              g.block(qa.data(), lda, a_scale.data(), 0, rows, K, p.storage.data(), 0,
                      p.layout.panels, N, map);
              std::vector<float> last(c.end() - N, c.end());
              std::fill(c.end() - N, c.end(), -7.0f);
              g.block_1row(qa.data(), lda, a_scale.data(), rows - 1, 1, K, p.storage.data(), 0,
                           p.layout.panels, N, map);
              for (int n = 0; n < N; ++n) REQUIRE(c[(rows - 1) * N + n] == last[n]);
              for (int r = 0; r < rows; ++r)
                for (int n = 0; n < N; ++n) {
                  long long dot = 0;
                  for (int k = 0; k < K; ++k)
                    dot += static_cast<long long>(qa[r * lda + k]) * qw[n * K + k];
                  const double product = double(dot) * a_scale[r] * p.scales()[n];
                  const double want = (product + bias[n]) * 0.5;
                  // int -> float, two products, a sum and the scale: a few fp32 roundings.
                  const double tol = 1e-6 * (std::abs(product) + std::abs(bias[n]));
                  INFO("at row " << r << " col " << n << " dot " << dot);
                  REQUIRE(std::abs(c[r * N + n] - want) <= tol);
                }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("int8 GEMM: the variant each port picks is one this CPU runs", "[kernels][int8][quick]") {
  for (const KernelTable* t : runnable_tables()) {
    INFO("port " << t->name);
    REQUIRE(t->int8_gemm_count >= 1);
    REQUIRE(t->int8_gemms[t->int8_gemm_count - 1].cpu_supports());  // the last always runs
    REQUIRE(t->int8_gemm().cpu_supports());
    for (int v = 0; v < t->int8_gemm_count; ++v) {
      if (t->int8_gemms[v].cpu_supports()) {
        REQUIRE(&t->int8_gemm() == &t->int8_gemms[v]);  // the best that runs
        break;
      }
    }
  }
}
