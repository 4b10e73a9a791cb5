// The standard benchmark shapes S1–S6 of shared/DESIGN.md, in one place for the CLI's bench
// command and the Google Benchmark suite.
#pragma once

#include <cstdint>

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
    // Until KV caches exist: one query token over 1024 key/value tokens, projections included.
    {"S6_decode", "S6", 1, 1, 1024, 768, 12},
};

// FLOPs of one forward pass (multiply-add = 2), as DESIGN.md counts them.
inline double flops(const StandardShape& s) {
  const double Lq = s.q_len, Lkv = s.kv_len, E = s.embed_dim, B = s.batch;
  return B * (2 * Lq * E * E + 2 * 2 * Lkv * E * E + 2 * 2 * Lq * Lkv * E + 2 * Lq * E * E);
}

}  // namespace edgeattn::tools
