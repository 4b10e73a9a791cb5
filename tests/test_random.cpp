// The library against the double-precision reference over many seeded random configurations:
// head_dim 1..128 (odd ones too), lengths 1..300, batch 1..4, every mask kind and sense,
// cross-attention with kdim/vdim, grouped-query attention, biases on and off, bias_k/bias_v,
// all three sequence layouts, both weight layouts, custom scales and attention-weights output.
//
// Tolerance: |got - want| <= atol + rtol·|want| with rtol = 1e-4 and
// atol = 8e-6·sqrt(longest reduction) for outputs (int8 weights: see reference_atol), 1e-5
// absolute on probabilities.
#include <catch2/catch.hpp>

#include <set>

#include "check_reference.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

TEST_CASE("random configurations match the double reference", "[reference][full]") {
  // Each case draws its options, its port and its thread count instead of running every port
  // and thread count: adding a port or an option does not multiply the (emulated) test time.
  // Every port meets every tile boundary in the test below.
  const int cases = case_count(300);
  const std::vector<std::string> ports = runnable_ports();
  std::mt19937 rng(20261127);
  for (int n = 0; n < cases; ++n) {
    const CaseConfig cfg = random_config(rng);
    const std::uint32_t seed = rng();
    const Case c = make_case(cfg, seed);
    const int threads = 1 + n % 3;
    const std::string& port = ports[rng() % ports.size()];
    INFO("case " << n << " seed " << seed << " threads " << threads << " port " << port << ": "
                 << cfg.describe());
    const reference::Result want =
        reference::multi_head_attention(c.spec(), c.args(nullptr, nullptr));
    const LibraryResult got = run_library(c, threads, port.c_str());
    REQUIRE(got.status.ok());
    const Comparison out = compare(got.output, want.output, reference_atol(cfg, want), 1e-4);
    INFO("output: " << out.describe());
    REQUIRE(out.ok());
    if (cfg.weights != AttnWeightsOutput::none) {
      const auto& w =
          cfg.weights == AttnWeightsOutput::averaged ? want.weights_avg : want.weights_head;
      const Comparison cw = compare(got.weights, w, 1e-5, 1e-4);
      INFO("weights: " << cw.describe());
      REQUIRE(cw.ok());
    }
  }
}

TEST_CASE("edge sizes around every tile boundary", "[reference][quick]") {
  // The boundaries come from the kernel tables of the ports this build carries (so an ARM build
  // brackets its own 32-row and 96-key tiles): lengths around every query tile TQ and key tile
  // TK, past a second key tile, and widths around every GEMM register tile's NR and its double,
  // plus the specialised head sizes. Every port runs every size.
  std::set<int> lens = {1, 2, 3, 4, 5, 6, 7, 200};
  std::set<int> widths = {1, 7, 8, 9, 32, 64, 80, 96, 128};
  for (int i = 0; i < port_count(); ++i) {
    const PortInfo p = port_info(i);
    for (int t : {p.attn_query_tile, p.attn_kv_tile})
      for (int d : {-1, 0, 1}) lens.insert(t + d);
    lens.insert(2 * p.attn_kv_tile + 1);
    for (int t : {p.gemm_nr, 2 * p.gemm_nr})
      for (int d : {-1, 0, 1}) widths.insert(t + d);
  }
  for (int len : lens) {
    for (int hd : widths) {
      CaseConfig cfg;
      cfg.num_heads = 2;
      cfg.embed_dim = 2 * hd;
      cfg.q_len = len;
      cfg.kv_len = len;
      cfg.causal = len % 2 == 1;
      cfg.key_padding_mask = hd % 2 ? MaskType::boolean : MaskType::none;
      const Case c = make_case(cfg, static_cast<std::uint32_t>(len * 1000 + hd));
      require_matches_reference(c);
    }
  }
}

TEST_CASE("fully masked rows give zeros, not NaN", "[reference][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 4;
  cfg.q_len = 5;
  cfg.kv_len = 7;
  cfg.cross = true;
  cfg.key_padding_mask = MaskType::boolean;
  cfg.out_bias = false;
  Case c = make_case(cfg, 7);
  std::fill(c.kpm_b.begin(), c.kpm_b.end(), 1);  // every key is padding
  cfg.weights = AttnWeightsOutput::per_head;
  for (AttnWeightsOutput mode : {AttnWeightsOutput::none, AttnWeightsOutput::per_head}) {
    c.cfg.weights = mode;
    for (const std::string& port : runnable_ports()) {
      const LibraryResult got = run_library(c, 2, port.c_str());
      REQUIRE(got.status.ok());
      for (float y : got.output) REQUIRE(y == 0.0f);
      for (float w : got.weights) REQUIRE(w == 0.0f);
    }
  }
}

TEST_CASE("owned workspace convenience path equals the explicit one", "[quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 32;
  cfg.num_heads = 4;
  cfg.batch = 2;
  cfg.q_len = 20;
  cfg.kv_len = 20;
  const Case c = make_case(cfg, 11);
  LayerSpec spec = c.spec();
  spec.max_batch = 2;
  spec.max_q_len = 32;
  spec.num_threads = 2;
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(spec, &layer).ok());
  std::vector<float> owned(c.output_size());
  REQUIRE(layer->run(c.args(owned.data(), nullptr)).ok());
  const LibraryResult explicit_ws = run_library(c, 2);
  REQUIRE(explicit_ws.status.ok());
  REQUIRE(owned == explicit_ws.output);
  // Beyond the declared maxima the owned workspace is too small, and run() says so.
  CaseConfig big = cfg;
  big.q_len = big.kv_len = 64;
  const Case cb = make_case(big, 12);
  std::vector<float> out(cb.output_size());
  const Status st = layer->run(cb.args(out.data(), nullptr));
  REQUIRE(st.code() == StatusCode::workspace_too_small);
}
