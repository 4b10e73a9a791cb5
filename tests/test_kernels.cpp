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

#include "kernel_tables.hpp"

using namespace edgeattn;
using test::runnable_tables;

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

namespace {
// Weights as a layer of `type` holds them: rounded to the type and widened back.
std::vector<float> as_held(const std::vector<float>& w, ElementType type) {
  std::vector<float> out(w);
  bool overflow = false;
  for (float& x : out) {
    if (type == ElementType::f16) x = kernels::f16_to_f32(kernels::f32_to_f16(x, &overflow));
    if (type == ElementType::bf16) x = kernels::bf16_to_f32(kernels::f32_to_bf16(x, &overflow));
  }
  return out;
}
}  // namespace

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
        const std::size_t size = kernels::packed_b_elems(K, N, k->gemm_nr);
        std::vector<float> a(size, 7.0f), b(size, 7.0f);
        k->pack_b(out_in.data(), 0, /*transposed=*/true, K, N, a.data(), 0);
        k->pack_b(in_out.data(), 0, /*transposed=*/false, K, N, b.data(), 0);
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
  // Both drivers (the MR-row one and the one-row one of decode steps), for each packed weight
  // type: the naive loop uses the weights as packed (rounded to f16/bf16 and widened back), so
  // the 16-bit kernels are held to fp32 tightness too.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (const KernelTable* k : runnable_tables()) {
    for (int type = 0; type < kernels::kWeightTypes; ++type) {
      for (int rows : {1, k->gemm_mr - 1, k->gemm_mr, k->gemm_mr + 1, 2 * k->gemm_row_block + 3}) {
        for (int N : {1, k->gemm_nr - 1, k->gemm_nr, k->gemm_nr + 1, 3 * k->gemm_nr + 5}) {
          for (int K : {1, 3, 17, 64, 129}) {
            if (rows < 1) continue;
            INFO("port " << k->name << " type " << element_type_name(ElementType(type)) << " rows "
                         << rows << " N " << N << " K " << K);
            const int lda = K + 3;  // a prime-ish stride, not the row length
            std::vector<float> a(static_cast<std::size_t>(rows) * lda),
                w(static_cast<std::size_t>(N) * K), bias(N);
            for (float& v : a) v = d(rng);
            for (float& v : w) v = d(rng);
            for (float& v : bias) v = d(rng);
            std::vector<float> packed(kernels::packed_b_elems(K, N, k->gemm_nr));  // room for any
            REQUIRE(k->pack_b(w.data(), 0, /*transposed=*/true, K, N, packed.data(), type) == 0);
            const std::vector<float> held = as_held(w, ElementType(type));
            std::vector<float> c(static_cast<std::size_t>(rows) * N, -7.0f);
            const kernels::OutputMap map{c.data(), N, 1, N, 0, bias.data(), 0.5f};
            const int panels = (N + k->gemm_nr - 1) / k->gemm_nr;
            for (int r0 = 0; r0 < rows; r0 += k->gemm_row_block)
              k->gemm_block[type](a.data(), lda, r0, std::min(k->gemm_row_block, rows - r0), K,
                                  packed.data(), 0, panels, N, map);
            // The one-row variant (decode steps) computes the last row again, in place.
            std::fill(c.begin() + static_cast<std::ptrdiff_t>(rows - 1) * N, c.end(), -7.0f);
            k->gemm_block_1row[type](a.data(), lda, rows - 1, 1, K, packed.data(), 0, panels, N,
                                     map);
            for (int r = 0; r < rows; ++r)
              for (int n = 0; n < N; ++n) {
                double want = bias[n];
                for (int kk = 0; kk < K; ++kk) want += double(a[r * lda + kk]) * held[n * K + kk];
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
}

TEST_CASE("16-bit weights: every port widens all 65536 patterns as the scalar conversion does",
          "[kernels][quick]") {
  // A 1 × 65536 GEMM with K = 1 and A = [1] returns the packed row of B as the kernel's loads
  // widened it (1·x + 0 is exact), against f16_to_f32 / bf16_to_f32. NaNs must stay NaN
  // (packing quiets them). bf16 patterns below 2^-126 are fp32 subnormals, which a CPU that
  // flushes denormals (ARMv7 NEON) reads as zero; no f16 value is subnormal in fp32.
  constexpr int N = 65536;
  std::vector<std::uint16_t> bits(N);
  for (int i = 0; i < N; ++i) bits[i] = static_cast<std::uint16_t>(i);
  for (const KernelTable* k : runnable_tables()) {
    for (const ElementType type : {ElementType::f16, ElementType::bf16}) {
      INFO("port " << k->name << " type " << element_type_name(type));
      const int t = static_cast<int>(type);
      std::vector<std::uint16_t> packed(kernels::packed_b_elems(1, N, k->gemm_nr));
      REQUIRE(k->pack_b(bits.data(), t, /*transposed=*/false, 1, N, packed.data(), t) == 0);
      std::vector<float> c(N, -7.0f);
      const float one = 1.0f;
      const kernels::OutputMap map{c.data(), N, 1, N, 0, nullptr, 1.0f};
      k->gemm_block_1row[t](&one, 1, 0, 1, 1, packed.data(), 0, (N + k->gemm_nr - 1) / k->gemm_nr,
                            N, map);
      int wrong = 0;
      for (int i = 0; i < N; ++i) {
        const float want =
            type == ElementType::f16 ? kernels::f16_to_f32(bits[i]) : kernels::bf16_to_f32(bits[i]);
        const bool ok = std::isnan(want) ? std::isnan(c[i])
                                         : c[i] == want || (std::fpclassify(want) == FP_SUBNORMAL &&
                                                            c[i] == 0.0f);
        if (!ok && wrong++ < 5)
          FAIL_CHECK("pattern " << i << ": got " << c[i] << ", want " << want);
      }
      REQUIRE(wrong == 0);
    }
  }
}

TEST_CASE("fp32 to f16 and bf16: round to nearest even, overflow reported", "[kernels][quick]") {
  using kernels::bf16_to_f32;
  using kernels::f16_to_f32;
  bool overflow = false;
  // Every f16 pattern survives widening and narrowing (NaNs as NaNs).
  for (int i = 0; i < 65536; ++i) {
    const auto h = static_cast<std::uint16_t>(i);
    const std::uint16_t back = kernels::f32_to_f16(f16_to_f32(h), &overflow);
    if (std::isnan(f16_to_f32(h)))
      REQUIRE(std::isnan(f16_to_f32(back)));
    else
      REQUIRE(back == h);
    const std::uint16_t bback = kernels::f32_to_bf16(bf16_to_f32(h), &overflow);
    if (!std::isnan(bf16_to_f32(h))) REQUIRE(bback == h);
  }
  REQUIRE_FALSE(overflow);  // infinities are not overflows
  // Random floats over f16's whole range (subnormals too): the nearest of the two neighbours,
  // ties to the even pattern.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> exponent(-26.0f, 16.0f), mantissa(1.0f, 2.0f);
  for (int n = 0; n < 200000; ++n) {
    const float x = std::ldexp(mantissa(rng), static_cast<int>(exponent(rng))) * (n % 2 ? -1 : 1);
    if (std::abs(x) >= 65504.0f) continue;
    const std::uint16_t h = kernels::f32_to_f16(x, &overflow);
    const double got = f16_to_f32(h), err = std::abs(got - x);
    for (int step : {-1, 1}) {
      const auto other = static_cast<std::uint16_t>(h + step);
      if ((other & 0x7fff) >= 0x7c00 || ((h & 0x7fff) == 0 && step < 0)) continue;
      const double other_err = std::abs(double(f16_to_f32(other)) - x);
      INFO("x " << x << " h " << h << " other " << other);
      REQUIRE(err <= other_err);
      if (err == other_err) REQUIRE((h & 1) == 0);
    }
    const std::uint16_t b = kernels::f32_to_bf16(x, &overflow);
    const double berr = std::abs(double(bf16_to_f32(b)) - x);
    for (int step : {-1, 1}) {
      const auto other = static_cast<std::uint16_t>(b + step);
      const double other_err = std::abs(double(bf16_to_f32(other)) - x);
      if (std::isnan(other_err)) continue;
      REQUIRE(berr <= other_err);
      if (berr == other_err) REQUIRE((b & 1) == 0);
    }
  }
  REQUIRE_FALSE(overflow);
  // The edges: 65504 is f16's largest finite value; 65520 is halfway to 2^16 and rounds up.
  REQUIRE(kernels::f32_to_f16(65519.996f, &overflow) == 0x7bff);
  REQUIRE_FALSE(overflow);
  REQUIRE(kernels::f32_to_f16(-65520.0f, &overflow) == 0xfc00);
  REQUIRE(overflow);
  overflow = false;
  REQUIRE(kernels::f32_to_f16(std::ldexp(1.0f, -25), &overflow) == 0);  // a tie, to even: 0
  REQUIRE(kernels::f32_to_f16(std::nextafter(std::ldexp(1.0f, -25), 1.0f), &overflow) == 1);
  REQUIRE(kernels::f32_to_bf16(3.4e38f, &overflow) == 0x7f80);  // rounds past bf16's largest
  REQUIRE(overflow);
  // f16_overflows (the caches' and the core's range check) says what f32_to_f16 reports.
  for (const float x :
       {65504.0f, 65519.996f, 65520.0f, -65520.0f, 1e5f, -3e38f, 1.0f, 0.0f,
        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
        std::numeric_limits<float>::quiet_NaN()}) {
    overflow = false;
    (void)kernels::f32_to_f16(x, &overflow);
    INFO("x " << x);
    REQUIRE(kernels::f16_overflows(x) == overflow);
  }
}
