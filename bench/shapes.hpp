// The standard benchmark shapes S1–S6 of shared/DESIGN.md, in one place for the CLI's bench
// command and the Google Benchmark suite.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn::tools {

struct StandardShape {
  const char* name;  // as used in benchmark names and results, e.g. "S4_bert_base"
  const char* id;    // "S4"
  int batch, q_len, kv_len, embed_dim, heads;
};

inline constexpr StandardShape kStandardShapes[] = {
    {"S1_tiny_edge", "S1", 1, 64, 64, 256, 4},
    {"S2_vit_tiny", "S2", 1, 197, 197, 192, 3},
    {"S3_minilm", "S3", 1, 128, 128, 384, 12},
    {"S4_bert_base", "S4", 1, 128, 128, 768, 12},
    {"S5_whisper_tiny", "S5", 1, 1500, 1500, 384, 6},
    // One query token over 1024 key/value tokens through the layer, projections included; the
    // KV-cache decode step of this shape is decode/edgeattn/S6_decode.
    {"S6_decode", "S6", 1, 1, 1024, 768, 12},
};

// FLOPs of one forward pass (multiply-add = 2), as DESIGN.md counts them.
inline double flops(const StandardShape& s) {
  const double Lq = s.q_len, Lkv = s.kv_len, E = s.embed_dim, B = s.batch;
  return B * (2 * Lq * E * E + 2 * 2 * Lkv * E * E + 2 * 2 * Lq * Lkv * E + 2 * Lq * E * E);
}

// A standard shape with deterministic random weights (PyTorch-like scale, all biases) and
// inputs: what `edgeattn bench` and edgeattn_bench run. Self-attention when q_len == kv_len.
struct StandardProblem {
  const StandardShape& shape;
  std::vector<float> wq, wk, wv, wo, bq, bk, bv, bo, query, kv, output;

  explicit StandardProblem(const StandardShape& s) : shape(s) {
    std::mt19937 rng(42);
    const int E = s.embed_dim;
    const float bound = 1.0f / std::sqrt(static_cast<float>(E));
    auto fill = [&](std::size_t n, float lo, float hi) {
      std::uniform_real_distribution<float> d(lo, hi);
      std::vector<float> v(n);
      for (float& f : v) f = d(rng);
      return v;
    };
    const std::size_t EE = static_cast<std::size_t>(E) * E;
    for (auto* w : {&wq, &wk, &wv, &wo}) *w = fill(EE, -bound, bound);
    for (auto* b : {&bq, &bk, &bv, &bo}) *b = fill(E, -bound, bound);
    query = fill(static_cast<std::size_t>(s.batch) * s.q_len * E, -1.0f, 1.0f);
    if (!self()) kv = fill(static_cast<std::size_t>(s.batch) * s.kv_len * E, -1.0f, 1.0f);
    output.resize(query.size());
  }
  bool self() const { return shape.q_len == shape.kv_len; }
  LayerSpec spec() const {
    LayerSpec spec;
    spec.embed_dim = shape.embed_dim;
    spec.num_heads = shape.heads;
    spec.weights = {wq.data(), wk.data(), wv.data(), wo.data(), bq.data(),
                    bk.data(), bv.data(), bo.data(), nullptr,   nullptr};
    return spec;
  }
  RunArgs args() {
    RunArgs a;
    a.shape = {shape.batch, shape.q_len, shape.kv_len};
    a.query = query.data();
    a.key = self() ? nullptr : kv.data();
    a.value = self() ? nullptr : kv.data();
    a.output = output.data();
    return a;
  }
};

}  // namespace edgeattn::tools
