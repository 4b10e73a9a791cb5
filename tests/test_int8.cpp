// int8 weights, white box: the quantization rule (weights at pack time per output channel,
// activations per row in blocks of kInt8Block inputs, outlier features apart), the packed
// layout, and every int8 GEMM variant of every port this CPU runs against the double-precision
// product of the same dequantized weights and the same quantized activations (int32
// accumulation is exact, so fp32 tightness), including the ±127 extremes at which AVX2's
// vpmaddubsw would saturate if the kernel let it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernel_tables.hpp"

using namespace edgeattn;
using test::runnable_tables;

namespace {

constexpr int kBlock = kernels::kInt8Block;

// The rule as documented (edgeattn.hpp): q = rne(x · 127/amax) clamped to ±127.
int rule_q(float x, float amax) {
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  return static_cast<int>(std::nearbyint(std::min(std::max(x * inv, -127.0f), 127.0f)));
}

bool listed(const std::vector<std::int32_t>& features, int k) {
  return std::find(features.begin(), features.end(), k) != features.end();
}

struct PackedInt8 {
  std::vector<float> storage;  // 64-byte aligned enough for the kernels' unaligned loads
  kernels::Int8Layout layout;
  const char* at(std::size_t offset) const {
    return reinterpret_cast<const char*>(storage.data()) + offset;
  }
  const std::int8_t* panels() const { return reinterpret_cast<const std::int8_t*>(at(0)); }
  const float* scales() const { return reinterpret_cast<const float*>(at(layout.scales)); }
  const std::int32_t* features() const {
    return reinterpret_cast<const std::int32_t*>(at(layout.features));
  }
  float outlier_weight(int o, int n) const {
    return kernels::f16_to_f32(reinterpret_cast<const std::uint16_t*>(
        at(layout.outlier_weights))[static_cast<std::size_t>(o) * layout.columns + n]);
  }
  int q(int k, int n, int NR) const {
    const int p = n / NR, j = n % NR;
    return panels()[static_cast<std::size_t>(p) * layout.K4 * NR +
                    static_cast<std::size_t>(k / 4) * NR * 4 + j * 4 + k % 4];
  }
};

// w is [N][K] (out_in).
PackedInt8 pack(const std::vector<float>& w, int K, int N, int NR,
                const std::vector<std::int32_t>& features) {
  PackedInt8 p;
  const int O = static_cast<int>(features.size());
  p.layout = kernels::int8_layout(K, N, NR, O);
  p.storage.assign(p.layout.total / sizeof(float) + 1, -1.0f);
  REQUIRE(kernels::pack_int8_any(NR, w.data(), 0, /*transposed=*/true, K, N, features.data(), O,
                                 p.storage.data()) == 0);
  return p;
}

}  // namespace

TEST_CASE("int8 packing: the documented rule, the layout, scales and outlier features",
          "[kernels][int8][quick]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (const int NR : {8, 12, 24, 48}) {
    for (const int K : {1, 3, 4, 37}) {
      for (const int N : {1, NR - 1, NR + 3}) {
        for (const int O : {0, 2}) {
          if (O > K - 1) continue;
          const std::vector<std::int32_t> features =
              O == 0 ? std::vector<std::int32_t>{} : std::vector<std::int32_t>{K - 1, K / 2 - 1};
          INFO("NR " << NR << " K " << K << " N " << N << " outliers " << O);
          std::vector<float> w(static_cast<std::size_t>(N) * K);
          for (float& v : w) v = d(rng);
          for (int n = 0; n < N; ++n)
            for (int f : features) w[n * K + f] *= 100.0f;  // outliers, far above the rest
          if (N > 1) std::fill(w.begin() + K, w.begin() + 2 * K, 0.0f);  // an all-zero column
          const PackedInt8 p = pack(w, K, N, NR, features);
          REQUIRE(p.layout.K4 % 4 == 0);
          REQUIRE(p.layout.scales % 64 == 0);
          REQUIRE(p.layout.features % 64 == 0);
          REQUIRE(p.layout.outlier_weights % 64 == 0);
          REQUIRE(p.layout.total % 64 == 0);
          for (int o = 0; o < O; ++o) REQUIRE(p.features()[o] == features[o]);
          for (int n = 0; n < p.layout.panels * NR; ++n) {
            float amax = 0.0f;  // over the features that stay int8
            for (int k = 0; k < K && n < N; ++k)
              if (!listed(features, k)) amax = std::max(amax, std::fabs(w[n * K + k]));
            for (int k = 0; k < p.layout.K4; ++k) {
              const int want =
                  n < N && k < K && !listed(features, k) ? rule_q(w[n * K + k], amax) : 0;
              REQUIRE(p.q(k, n, NR) == want);
            }
            REQUIRE(p.scales()[n] == amax / 127.0f);
            for (int o = 0; o < O; ++o) {
              bool overflow = false;
              const float want =
                  n < N
                      ? kernels::f16_to_f32(kernels::f32_to_f16(w[n * K + features[o]], &overflow))
                      : 0.0f;
              REQUIRE(p.outlier_weight(o, n) == want);
            }
            if (n < N && amax > 0) {
              int extreme = 0;  // the largest magnitude maps to ±127 exactly
              for (int k = 0; k < K; ++k) extreme = std::max(extreme, std::abs(p.q(k, n, NR)));
              REQUIRE(extreme == 127);
            }
          }
        }
      }
    }
  }
  // A non-finite weight cannot be quantized, nor an outlier weight beyond f16: counted, so
  // create() reports them.
  std::vector<float> w(16, 1.0f);
  w[3] = std::numeric_limits<float>::infinity();
  w[9] = std::numeric_limits<float>::quiet_NaN();
  w[12] = 1e6f;  // column 3, feature 0: an outlier
  const std::int32_t feature0[1] = {0};
  std::vector<float> out(kernels::int8_layout(4, 4, 8, 1).total / 4);
  REQUIRE(kernels::pack_int8_any(8, w.data(), 0, true, 4, 4, feature0, 1, out.data()) == 3);
}

TEST_CASE("int8 activations: every port quantizes rows by the documented rule",
          "[kernels][int8][quick]") {
  std::mt19937 rng(12);
  std::normal_distribution<float> d(0.0f, 3.0f);
  const int K = 77, K4 = 80, rows = 5, blocks = kernels::int8_blocks(K);
  REQUIRE(blocks == (K + kBlock - 1) / kBlock);
  std::vector<float> a(static_cast<std::size_t>(rows) * (K + 1));
  for (float& v : a) v = d(rng);
  for (int k = 0; k < K; ++k) a[(K + 1) + k] = 0.0f;             // row 1: zeros
  a[2 * (K + 1) + 5] = std::numeric_limits<float>::quiet_NaN();  // row 2: a NaN
  a[3 * (K + 1) + 9] = -std::numeric_limits<float>::infinity();  // row 3: an infinity
  for (int k = 0; k < K; ++k) a[4 * (K + 1) + k] = (k % 2 ? 1.0f : -1.0f) * 0.5f * (k + 1);
  for (const std::vector<std::int32_t>& features :
       {std::vector<std::int32_t>{}, std::vector<std::int32_t>{40, 3, 76}}) {
    const int O = static_cast<int>(features.size());
    for (int r = 0; r < rows; ++r)
      for (int f : features) a[r * (K + 1) + f] *= 50.0f;  // outliers
    for (const KernelTable* t : runnable_tables()) {
      INFO("port " << t->name << " outliers " << O);
      std::vector<std::int8_t> q(static_cast<std::size_t>(rows) * K4, 99);
      std::vector<float> s(static_cast<std::size_t>(rows) * blocks), ov(rows * O);
      t->quantize_rows(a.data(), K + 1, rows, K, features.data(), O, q.data(), K4, s.data(),
                       ov.data());
      for (int r = 0; r < rows; ++r) {
        const float* x = a.data() + r * (K + 1);
        if (r == 2 || r == 3) {  // non-finite: NaN scales and outliers (NaN outputs), zeros
          for (int b = 0; b < blocks; ++b) REQUIRE(std::isnan(s[r * blocks + b]));
          for (int o = 0; o < O; ++o) REQUIRE(std::isnan(ov[r * O + o]));
          for (int k = 0; k < K4; ++k) REQUIRE(q[r * K4 + k] == 0);
          continue;
        }
        for (int o = 0; o < O; ++o) REQUIRE(ov[r * O + o] == x[features[o]]);
        for (int b = 0; b < blocks; ++b) {
          const int k0 = b * kBlock, k1 = std::min(K, k0 + kBlock);
          float amax = 0.0f;
          for (int k = k0; k < k1; ++k)
            if (!listed(features, k)) amax = std::max(amax, std::fabs(x[k]));
          REQUIRE(s[r * blocks + b] == amax / 127.0f);
          for (int k = k0; k < std::min(K4, k0 + kBlock); ++k) {
            INFO("row " << r << " k " << k);
            REQUIRE(q[r * K4 + k] == (k < K && !listed(features, k) ? rule_q(x[k], amax) : 0));
          }
        }
      }
    }
  }
}

TEST_CASE("int8 GEMM: every variant of every port, exact int32 products, at the extremes",
          "[kernels][int8][quick]") {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> qd(-127, 127);
  std::uniform_int_distribution<int> f16d(-1000, 1000);  // / 64: exact in f16
  std::uniform_real_distribution<float> sd(0.01f, 2.0f);
  for (const KernelTable* t : runnable_tables()) {
    const int NR = t->gemm_nr;
    for (int v = 0; v < t->int8_gemm_count; ++v) {
      const Int8Gemm& g = t->int8_gemms[v];
      if (!g.cpu_supports()) continue;
      for (const int mode : {0, 1, 2}) {  // random; all +127 · +127; alternating ±127 signs
        for (const int rows : {1, g.mr - 1, g.mr, 2 * g.mr + 1}) {
          for (const int N : {1, NR - 1, NR, 2 * NR + 5}) {
            // 50: a whole 32-k block, then 16 k and a group of 4 (the sdot kernel's
            // partial-block paths); 131, 4100: whole blocks and a lone group.
            for (const int K : {1, 6, 50, 64, mode == 0 ? 131 : 4100}) {
              if (rows < 1) continue;
              // Outlier features (not k = 0, which holds each column's ±127) when K allows.
              std::vector<std::int32_t> features;
              if (K >= 6) features = {K - 1, K / 2};
              if (K >= 64 && mode == 0) features = {33, 1, K - 2, 40, 5, 6, 63, K / 3};
              const int O = static_cast<int>(features.size()), blocks = kernels::int8_blocks(K);
              INFO("port " << t->name << " variant " << g.isa << " mode " << mode << " rows "
                           << rows << " N " << N << " K " << K << " outliers " << O);
              const int K4 = (K + 3) / 4 * 4, lda = K4 + 8;
              auto pick = [&](int r, int k) {
                if (listed(features, k)) return 0;
                if (mode == 1) return 127;
                if (mode == 2) return (r + k) % 2 ? 127 : -127;
                return qd(rng);
              };
              // Weights with integer values and column scales: w = q · s, whose quantization
              // gives q back when a ±127 is present in the column (forced at k = 0); outlier
              // weights exact in f16.
              std::vector<int> qw(static_cast<std::size_t>(N) * K);
              std::vector<float> w(qw.size()), col_scale(N);
              for (int n = 0; n < N; ++n) {
                col_scale[n] = sd(rng);
                for (int k = 0; k < K; ++k) {
                  int q = pick(n + 1, k);
                  if (k == 0) q = n % 2 ? 127 : -127;
                  qw[n * K + k] = q;
                  w[n * K + k] = listed(features, k) ? static_cast<float>(f16d(rng)) / 64.0f
                                                     : static_cast<float>(q) * col_scale[n];
                }
              }
              const PackedInt8 p = pack(w, K, N, NR, features);
              for (int n = 0; n < N; ++n)
                for (int k = 0; k < K; ++k) REQUIRE(p.q(k, n, NR) == qw[n * K + k]);
              std::vector<std::int8_t> qa(static_cast<std::size_t>(rows) * lda, 55);
              std::vector<float> a_scale(static_cast<std::size_t>(rows) * blocks),
                  a_out(static_cast<std::size_t>(rows) * O);
              for (float& s : a_scale) s = sd(rng);
              for (float& x : a_out) x = sd(rng) * 40.0f - 40.0f;
              for (int r = 0; r < rows; ++r)
                for (int k = 0; k < K4; ++k)
                  qa[r * lda + k] = static_cast<std::int8_t>(k < K ? pick(r, k) : 0);
              const kernels::Int8Rows a{qa.data(), lda, a_scale.data(), blocks, a_out.data(), O};
              std::vector<float> bias(N);
              for (float& b : bias) b = sd(rng);
              std::vector<float> c(static_cast<std::size_t>(rows) * N, -7.0f);
              const kernels::OutputMap map{c.data(), N, 1, N, 0, bias.data(), 0.5f};
              g.block(a, 0, rows, K, p.storage.data(), 0, p.layout.panels, N, map);
              std::vector<float> last(c.end() - N, c.end());
              std::fill(c.end() - N, c.end(), -7.0f);
              g.block_1row(a, rows - 1, 1, K, p.storage.data(), 0, p.layout.panels, N, map);
              for (int n = 0; n < N; ++n) REQUIRE(c[(rows - 1) * N + n] == last[n]);
              for (int r = 0; r < rows; ++r)
                for (int n = 0; n < N; ++n) {
                  double want = 0.0, magnitude = 0.0;
                  for (int b = 0; b < blocks; ++b) {
                    long long dot = 0;
                    for (int k = b * kBlock; k < std::min(K, (b + 1) * kBlock); ++k)
                      dot += static_cast<long long>(qa[r * lda + k]) * qw[n * K + k];
                    const double term = double(dot) * a_scale[r * blocks + b] * p.scales()[n];
                    want += term;
                    magnitude += std::abs(term);
                  }
                  for (int o = 0; o < O; ++o) {
                    const double term = double(a_out[r * O + o]) * w[n * K + features[o]];
                    want += term;
                    magnitude += std::abs(term);
                  }
                  want = (want + bias[n]) * 0.5;
                  // int -> float, a product and a sum per term, the scale: n·u of the terms.
                  const double tol = (blocks + O + 4) * 1.2e-7 * (magnitude + std::abs(bias[n]));
                  INFO("at row " << r << " col " << n);
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
