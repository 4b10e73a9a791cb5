// White-box checks of each port's kernels through its kernel table: the vectorised exp used
// by the softmax, and the GEMM micro-kernel driver against a naive loop on every partial tile.
//
// exp: maximum relative error against double-precision exp over [-87, 0] (the softmax only
// takes exp of x - max <= 0), bound 5e-7 (see the test below for what was measured);
// exp(-inf) must be exactly 0 (masked keys) and exp(0) exactly 1.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "port_registry.hpp"

using namespace edgeattn;

namespace {
std::vector<const KernelTable*> runnable_tables() {
  std::size_t n = 0;
  const KernelTable* const* t = registry::tables(&n);
  std::vector<const KernelTable*> out;
  for (std::size_t i = 0; i < n; ++i)
    if (t[i]->cpu_supports()) out.push_back(t[i]);
  return out;
}
}  // namespace

// The softmax's exp (Vec::exp) promises 5e-7 relative on [-87, 0]; on x86-avx2 its worst case
// over every float of that range is 2.31e-7 (at -27.379168). 2^20 evenly spaced points here.
TEST_CASE("vectorised exp: relative error within 5e-7 on the softmax's range", "[kernels][quick]") {
  const int n = 1 << 20;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = -87.0f * static_cast<float>(i) / static_cast<float>(n - 1);
  for (const KernelTable* k : runnable_tables()) {
    INFO("port " << k->name);
    k->vexp(x.data(), y.data(), n);
    double worst = 0;
    float at = 0;
    for (int i = 0; i < n; ++i) {
      const double want = std::exp(static_cast<double>(x[i]));
      const double rel = std::abs(y[i] - want) / want;
      if (rel > worst) {
        worst = rel;
        at = x[i];
      }
    }
    INFO("max relative error " << worst << " at x = " << at);
    REQUIRE(worst <= 5e-7);
    float special[8] = {
        -std::numeric_limits<float>::infinity(), 0.0f, -0.0f, -100.0f, -1e30f, -1e-30f, -88.0f,
        std::numeric_limits<float>::quiet_NaN()};
    float out[8];
    k->vexp(special, out, 8);
    REQUIRE(out[0] == 0.0f);
    REQUIRE(out[1] == 1.0f);
    REQUIRE(out[2] == 1.0f);
    REQUIRE(out[3] >= 0.0f);
    REQUIRE(out[3] < 1e-40f);
    REQUIRE(out[4] == 0.0f);
    REQUIRE(out[5] == 1.0f);
    REQUIRE(out[6] >= 0.0f);
    REQUIRE(out[6] < 1e-37f);
    REQUIRE(std::isnan(out[7]));  // a NaN score must reach the output, not vanish
  }
}

TEST_CASE("weight packing: both source layouts give the same panels, zero-padded",
          "[kernels][quick]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (const KernelTable* k : runnable_tables()) {
    for (int K : {1, 63, 64, 65, 200}) {
      for (int N : {1, k->gemm_nr - 1, k->gemm_nr + 1, 3 * k->gemm_nr + 5}) {
        INFO("port " << k->name << " K " << K << " N " << N);
        std::vector<float> out_in(static_cast<std::size_t>(N) * K), in_out(out_in.size());
        for (int n = 0; n < N; ++n)
          for (int kk = 0; kk < K; ++kk) in_out[kk * N + n] = out_in[n * K + kk] = d(rng);
        const std::size_t size = kernels::packed_b_floats(K, N, k->gemm_nr);
        std::vector<float> a(size, 7.0f), b(size, 7.0f);
        k->pack_b(out_in.data(), /*transposed=*/true, K, N, a.data());
        k->pack_b(in_out.data(), /*transposed=*/false, K, N, b.data());
        REQUIRE(a == b);
        const int nr = k->gemm_nr;
        for (int n = 0; n < (N + nr - 1) / nr * nr; ++n)
          for (int kk = 0; kk < K; ++kk) {
            const float got = a[(static_cast<std::size_t>(n / nr) * K + kk) * nr + n % nr];
            REQUIRE(got == (n < N ? out_in[n * K + kk] : 0.0f));
          }
      }
    }
  }
}

TEST_CASE("GEMM driver matches a naive loop on every partial tile", "[kernels][quick]") {
  // Both drivers: the MR-row one and the one-row one of decode steps.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (const KernelTable* k : runnable_tables()) {
    for (int rows : {1, k->gemm_mr - 1, k->gemm_mr, k->gemm_mr + 1, 2 * k->gemm_row_block + 3}) {
      for (int N : {1, k->gemm_nr - 1, k->gemm_nr, k->gemm_nr + 1, 3 * k->gemm_nr + 5}) {
        for (int K : {1, 3, 17, 64, 129}) {
          if (rows < 1) continue;
          INFO("port " << k->name << " rows " << rows << " N " << N << " K " << K);
          const int lda = K + 3;  // a prime-ish stride, not the row length
          std::vector<float> a(static_cast<std::size_t>(rows) * lda),
              w(static_cast<std::size_t>(N) * K), bias(N);
          for (float& v : a) v = d(rng);
          for (float& v : w) v = d(rng);
          for (float& v : bias) v = d(rng);
          std::vector<float> packed(kernels::packed_b_floats(K, N, k->gemm_nr));
          k->pack_b(w.data(), /*transposed=*/true, K, N, packed.data());
          std::vector<float> c(static_cast<std::size_t>(rows) * N, -7.0f);
          const kernels::OutputMap map{c.data(), N, 1, N, 0, bias.data(), 0.5f};
          const int panels = (N + k->gemm_nr - 1) / k->gemm_nr;
          for (int r0 = 0; r0 < rows; r0 += k->gemm_row_block)
            k->gemm_block(a.data(), lda, r0, std::min(k->gemm_row_block, rows - r0), K,
                          packed.data(), 0, panels, N, map);
          // The one-row variant (decode steps) computes the last row again, in place.
          std::fill(c.begin() + static_cast<std::ptrdiff_t>(rows - 1) * N, c.end(), -7.0f);
          k->gemm_block_1row(a.data(), lda, rows - 1, 1, K, packed.data(), 0, panels, N, map);
          for (int r = 0; r < rows; ++r)
            for (int n = 0; n < N; ++n) {
              double want = bias[n];
              for (int kk = 0; kk < K; ++kk) want += double(a[r * lda + kk]) * w[n * K + kk];
              want *= 0.5;
              INFO("at row " << r << " col " << n);
              REQUIRE(std::abs(c[r * N + n] - want) <=
                      1e-5 * std::sqrt(double(K)) * (1 + std::abs(want)));
            }
        }
      }
    }
  }
}
