// Numerical edge cases, each against the double reference or an exact expectation, on every
// port the CPU runs.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "check_reference.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

TEST_CASE("logits of +-1e30 and -inf masks", "[numerics][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 32;
  cfg.num_heads = 4;
  cfg.batch = 2;
  cfg.q_len = 20;
  cfg.kv_len = 150;
  cfg.cross = true;
  cfg.attn_mask = MaskType::additive;
  cfg.attn_mask_rank = 3;
  Case c = make_case(cfg, 31);
  const float inf = std::numeric_limits<float>::infinity();
  const float values[] = {-inf, -1e30f, 1e30f, 0.0f, -3.0f};
  std::mt19937 rng(5);
  for (float& m : c.attn_mask_f) m = values[rng() % 5];
  require_matches_reference(c);
  // Rows dominated by one +1e30 logit put all their weight on that key.
  for (std::size_t i = 0; i < c.attn_mask_f.size(); ++i)
    c.attn_mask_f[i] = i % cfg.kv_len == 7 ? 1e30f : -1e30f;
  require_matches_reference(c);
}

TEST_CASE("q_len = 1 and kv_len = 1", "[numerics][quick]") {
  for (auto [lq, lkv] : {std::pair{1, 1}, std::pair{1, 300}, std::pair{300, 1}}) {
    CaseConfig cfg;
    cfg.embed_dim = 24;
    cfg.num_heads = 3;
    cfg.q_len = lq;
    cfg.kv_len = lkv;
    cfg.cross = true;
    cfg.causal = true;
    require_matches_reference(make_case(cfg, 40 + lq + lkv));
  }
}

TEST_CASE("head_dim 1, 127 and 129", "[numerics][quick]") {
  for (int hd : {1, 127, 129}) {
    CaseConfig cfg;
    cfg.num_heads = 2;
    cfg.embed_dim = 2 * hd;
    cfg.q_len = 37;
    cfg.kv_len = 70;
    cfg.cross = true;
    cfg.key_padding_mask = MaskType::boolean;
    require_matches_reference(make_case(cfg, 50 + hd));
  }
}

TEST_CASE("NaN stays in what depends on it", "[numerics][quick]") {
  // Documented behaviour: a NaN in query row i reaches only output row i of its batch element;
  // a NaN in a key or value position poisons its whole batch element (masked probabilities
  // multiply V as exact zeros, and 0·NaN = NaN) and never another batch element.
  CaseConfig cfg;
  cfg.embed_dim = 32;
  cfg.num_heads = 2;
  cfg.batch = 2;
  cfg.q_len = 60;
  cfg.kv_len = 70;
  cfg.cross = true;
  const Case clean = make_case(cfg, 60);
  const std::size_t row = static_cast<std::size_t>(cfg.embed_dim);
  for (const std::string& port : runnable_ports()) {
    INFO("port " << port);
    const LibraryResult base = run_library(clean, 2, port.c_str());
    Case q_nan = clean;
    q_nan.query[(0 * cfg.q_len + 9) * row + 3] = std::numeric_limits<float>::quiet_NaN();
    const LibraryResult rq = run_library(q_nan, 2, port.c_str());
    REQUIRE(rq.status.ok());
    for (int b = 0; b < cfg.batch; ++b)
      for (int i = 0; i < cfg.q_len; ++i)
        for (std::size_t f = 0; f < row; ++f) {
          const std::size_t at = (static_cast<std::size_t>(b) * cfg.q_len + i) * row + f;
          if (b == 0 && i == 9)
            REQUIRE(std::isnan(rq.output[at]));
          else
            REQUIRE(rq.output[at] == base.output[at]);
        }
    Case v_nan = clean;
    v_nan.value[(1 * cfg.kv_len + 33) * row + 0] = std::numeric_limits<float>::quiet_NaN();
    const LibraryResult rv = run_library(v_nan, 2, port.c_str());
    REQUIRE(rv.status.ok());
    const std::size_t half = rv.output.size() / 2;
    for (std::size_t i = 0; i < half; ++i) REQUIRE(rv.output[i] == base.output[i]);
    for (std::size_t i = half; i < rv.output.size(); ++i) REQUIRE(std::isnan(rv.output[i]));
  }
}

TEST_CASE("denormal inputs: IEEE on every port but arm-neon32, which flushes",
          "[numerics][quick]") {
  // edgeattn sets no flush-to-zero mode. On x86-64 (x86-avx2, x86-sse2, generic) and AArch64
  // (arm-neon64) denormals are IEEE; a caller who wants FTZ/DAZ sets it in the thread that
  // creates the Executor (oneTBB's arenas take that thread's floating-point settings). ARMv7
  // NEON always flushes denormals to zero, so arm-neon32 gives (near) zero there.
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 2;
  cfg.q_len = cfg.kv_len = 9;
  cfg.q_bias = cfg.k_bias = cfg.v_bias = cfg.out_bias = false;
  Case c = make_case(cfg, 70);
  for (float& x : c.query) x *= 1e-38f;  // mostly below FLT_MIN
  const reference::Result want =
      reference::multi_head_attention(c.spec(), c.args(nullptr, nullptr));
  for (const std::string& port : runnable_ports()) {
    INFO("port " << port);
    const LibraryResult got = run_library(c, 1, port.c_str());
    REQUIRE(got.status.ok());
    double max_ref = 0;
    for (double w : want.output) max_ref = std::max(max_ref, std::abs(w));
    REQUIRE(max_ref > 0.0);
    REQUIRE(max_ref < 1e-37);  // the outputs are denormal-sized themselves
    if (port == "arm-neon32") {
      for (float y : got.output) REQUIRE(std::abs(y) <= 1e-37f);
      continue;
    }
    const Comparison cmp = compare(got.output, want.output, 1e-42, 1e-2);
    INFO(cmp.describe());
    REQUIRE(cmp.ok());
  }
}

TEST_CASE("kv_len of 65 536 runs within a workspace linear in kv_len", "[numerics][full]") {
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 2;
  cfg.q_len = 3;
  cfg.kv_len = 65536;
  cfg.cross = true;
  cfg.key_padding_mask = MaskType::boolean;
  const Case c = make_case(cfg, 80);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  std::size_t bytes = 0;
  REQUIRE(layer->workspace_size({1, 3, 65536}, 2, &bytes).ok());
  INFO("workspace " << bytes);
  REQUIRE(bytes < 4u * 1024 * 1024 * 3);  // Kᵀ and V (2 × 4 MB) plus small regions
  require_matches_reference(c);
}

TEST_CASE("run rejects sizes whose products overflow without touching memory",
          "[numerics][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 64;
  cfg.num_heads = 16;
  const Case c = make_case(cfg, 90);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  Executor exec(1);
  alignas(64) static unsigned char ws[256];
  float dummy = 0.0f;
  const int big = std::numeric_limits<int>::max();
  RunArgs a;
  a.shape = {big, big, big};
  a.query = a.key = a.value = &dummy;  // never read: validation fails first
  a.output = &dummy;
  a.attn_weights = AttnWeightsOutput::per_head;
  a.attn_weights_out = &dummy;
  Status st = layer->run(a, ws, sizeof ws, exec);
  INFO(st.message());
  REQUIRE(st.code() == StatusCode::size_overflow);
  a.attn_weights = AttnWeightsOutput::none;
  a.shape = {big / 2, big / 2, 1 << 20};  // batch·q_len·E alone overflows the workspace
  st = layer->run(a, ws, sizeof ws, exec);
  INFO(st.message());
  REQUIRE(st.code() == StatusCode::size_overflow);
}
