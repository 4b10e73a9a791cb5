// The attention core against its double-precision oracle (tests/reference/reference_core.hpp)
// on random configurations covering every option (lengths past a second key tile and the
// specialised head widths included), each on a drawn port and thread count; and
// every argument error as a status with a message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core_case.hpp"
#include "reference/reference_core.hpp"
#include "test_util.hpp"

using namespace edgeattn;

TEST_CASE("attention core matches the double reference on random configurations", "[core][quick]") {
  // Each case draws its port and thread count (1 or 2) with its options, so that a new port or
  // option does not multiply the emulated test time.
  std::mt19937 rng(2024);
  const int cases = test::case_count(300);
  const std::vector<std::string> ports = test::runnable_ports();
  for (int n = 0; n < cases; ++n) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    test::CoreCase c =
        test::make_core_case(pick, static_cast<std::uint32_t>(n), test::CoreSizes::wide);
    const reference::CoreResult want = reference::attention_core(c.args);
    const std::string& port = ports[pick(0, static_cast<int>(ports.size()) - 1)];
    const int threads = pick(1, 2);
    INFO("case " << n << ": " << c.describe() << "; port " << port << ", " << threads
                 << " threads");
    c.args.port = port.c_str();
    // Poisoned before the run: a run that writes nothing must not pass on the initial values.
    for (auto* out : {&c.y, &c.present_key, &c.present_value, &c.qk})
      std::fill(out->begin(), out->end(), std::numeric_limits<float>::quiet_NaN());
    Executor exec(threads);
    const Status st = attention(c.args, exec);
    INFO(st.message());
    REQUIRE(st.ok());
    test::Comparison m = test::compare(c.y, want.y, 1e-5, 1e-4);
    INFO("Y: " << m.describe());
    REQUIRE(m.ok());
    if (c.args.present_key) {  // exact copies: tolerance 0
      REQUIRE(test::compare(c.present_key, want.present_key, 0, 0).ok());
      REQUIRE(test::compare(c.present_value, want.present_value, 0, 0).ok());
    }
    if (c.args.qk_out) {
      m = test::compare(c.qk, want.qk, 1e-5, 1e-4);
      INFO("qk_matmul_output mode " << static_cast<int>(c.args.qk_mode) << ": " << m.describe());
      REQUIRE(m.ok());
    }
  }
}

TEST_CASE("attention core rejects bad arguments with a status", "[core][errors][quick]") {
  std::vector<float> q(2 * 4 * 3 * 8, 0.1f), k(2 * 2 * 5 * 8, 0.2f), v(k.size(), 0.3f), y(q.size());
  std::vector<std::int64_t> nonpad = {5, 9};
  std::vector<std::uint8_t> mask(3 * 5, 1);
  AttentionArgs good;
  good.batch = 2;
  good.q_heads = 4;
  good.kv_heads = 2;
  good.q_len = 3;
  good.kv_len = 5;
  good.head_dim = 8;
  good.q = q.data();
  good.k = k.data();
  good.v = v.data();
  good.y = y.data();
  Executor exec(1);
  REQUIRE(attention(good, exec).ok());
  auto expect = [&](AttentionArgs a, StatusCode code, const char* fragment) {
    const Status st = attention(a, exec);
    INFO("status: " << st.message());
    CHECK(st.code() == code);
    CHECK(std::string(st.message()).find(fragment) != std::string::npos);
  };
  AttentionArgs a = good;
  a.q_heads = 3;
  expect(a, StatusCode::invalid_argument, "multiple of kv_heads");
  a = good;
  a.kv_len = 0;
  expect(a, StatusCode::invalid_argument, "no keys");
  a = good;
  a.q = nullptr;
  expect(a, StatusCode::null_pointer, "q is null");
  a = good;
  a.past_len = 2;
  expect(a, StatusCode::null_pointer, "past_key and past_value");
  a = good;
  a.nonpad_kv_seqlen = nonpad.data();
  expect(a, StatusCode::invalid_argument, "nonpad_kv_seqlen[1] = 9");
  a = good;
  a.nonpad_kv_seqlen = nonpad.data();
  a.past_len = 1;
  a.past_key = a.past_value = k.data();
  expect(a, StatusCode::invalid_argument, "cannot be combined");
  a = good;
  a.mask.type = MaskType::boolean;
  a.mask.data = mask.data();
  a.mask.dims[0] = 3;
  a.mask.dims[1] = 6;
  expect(a, StatusCode::shape_mismatch, "last dimension is 6");
  a.mask.dims[0] = 2;
  a.mask.dims[1] = 5;
  expect(a, StatusCode::shape_mismatch, "q_len = 3");
  a.mask.rank = 5;
  expect(a, StatusCode::shape_mismatch, "rank must be 2, 3 or 4");
  a = good;
  a.softcap = -1.0f;
  expect(a, StatusCode::invalid_argument, "softcap");
  a = good;
  a.scale = std::numeric_limits<float>::quiet_NaN();
  expect(a, StatusCode::invalid_argument, "scale must be finite");
  a = good;
  a.present_key = y.data();
  expect(a, StatusCode::null_pointer, "present_key and present_value");
  a = good;
  a.qk_out = y.data();
  a.qk_mode = static_cast<QkOutputMode>(7);
  expect(a, StatusCode::invalid_argument, "qk_mode");
  a = good;
  a.port = "no-such-port";
  expect(a, StatusCode::unsupported, "unknown port");
  a = good;
  a.batch = 1 << 20;
  a.q_len = 1 << 20;
  a.head_dim = 1 << 20;
  expect(a, StatusCode::size_overflow, "overflows");
  std::size_t bytes = 0;
  REQUIRE(attention_workspace_size(good, 1, &bytes).ok());
  test::Workspace ws(bytes + 64);
  CHECK(attention(good, ws.data(), bytes - 4, exec).code() == StatusCode::workspace_too_small);
  CHECK(attention(good, static_cast<char*>(ws.data()) + 4, bytes, exec).code() ==
        StatusCode::invalid_argument);
  CHECK(attention(good, nullptr, bytes, exec).code() == StatusCode::null_pointer);
}

TEST_CASE("attention core with K and V staged in f16: the rounding of K and V, and its errors",
          "[core][quick]") {
  // Against the f32 core given K and V rounded to f16 by hand: equal within fp32 tolerance, on
  // every port; and not equal to the f32 core on the unrounded K and V (the f16 path ran).
  std::mt19937 rng(31);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const int B = 2, Hq = 4, G = 2, Lq = 5, L = 70, D = 32;
  std::vector<float> q(static_cast<std::size_t>(B) * Hq * Lq * D), k(std::size_t(B) * G * L * D),
      v(k.size());
  for (auto* x : {&q, &k, &v})
    for (float& e : *x) e = d(rng);
  std::vector<float> k16 = k, v16 = v;
  for (auto* x : {&k16, &v16})
    for (float& e : *x) e = test::round_to(e, ElementType::f16);
  AttentionArgs a;
  a.batch = B;
  a.q_heads = Hq;
  a.kv_heads = G;
  a.q_len = Lq;
  a.kv_len = L;
  a.head_dim = D;
  a.q = q.data();
  a.causal = true;
  Executor exec(2);
  for (const std::string& port : test::runnable_ports()) {
    INFO("port " << port);
    a.port = port.c_str();
    std::vector<float> got(q.size()), want(q.size()), exact(q.size());
    a.k = k.data();
    a.v = v.data();
    a.y = exact.data();
    REQUIRE(attention(a, exec).ok());
    a.k = k16.data();
    a.v = v16.data();
    a.y = want.data();
    REQUIRE(attention(a, exec).ok());
    a.k = k.data();
    a.v = v.data();
    a.y = got.data();
    a.kv_element_type = ElementType::f16;
    REQUIRE(attention(a, exec).ok());
    const test::Comparison c = test::compare(got.data(), want.data(), got.size(), 1e-6, 1e-5);
    INFO(c.describe());
    CHECK(c.ok());
    CHECK_FALSE(test::compare(got.data(), exact.data(), got.size(), 1e-7, 1e-7).ok());
    a.kv_element_type = ElementType::f32;
  }
  a.port = nullptr;
  a.k = k.data();
  a.v = v.data();
  std::vector<float> y(q.size()), qk(std::size_t(B) * Hq * Lq * L);
  a.y = y.data();
  a.kv_element_type = ElementType::f16;
  k[17] = 1e5f;  // beyond f16
  Status st = attention(a, exec);
  CHECK(st.code() == StatusCode::invalid_argument);
  CHECK(std::string(st.message()).find("k[17] = 100000 is too large for kv_element_type f16") !=
        std::string::npos);
  k[17] = 0.5f;
  a.qk_out = qk.data();
  CHECK(attention(a, exec).code() == StatusCode::unsupported);
  a.qk_out = nullptr;
  a.kv_element_type = ElementType::int8;
  st = attention(a, exec);
  CHECK(st.code() == StatusCode::invalid_argument);
  CHECK(std::string(st.message()).find("kv_element_type must be f32 or f16") != std::string::npos);
}
