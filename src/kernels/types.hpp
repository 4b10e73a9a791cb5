// Plain data the kernels exchange with the executor. Aggregates only, with no member
// functions: these types are shared by translation units compiled for different ISAs, and
// every function that computes on them lives in the kernel headers' internal namespaces
// (see vec.hpp), so no AVX2-compiled inline function can be picked for a generic caller.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgeattn::kernels {

// Where element (row r, column n) of a projection's result goes. Columns come in groups of
// `group_cols` (a head's width); consecutive columns inside a group are `col_step` apart,
// consecutive groups `group_step` apart, consecutive rows `row_step` apart. This one rule
// writes plain row-major output, head-major Q/V ([head][row][d]) and head-major transposed
// K ([head][d][row]) straight from the epilogue, with no separate split or transpose pass.
struct OutputMap {
  float* base = nullptr;
  std::ptrdiff_t row_step = 0;
  std::ptrdiff_t col_step = 1;
  int group_cols = 1;
  std::ptrdiff_t group_step = 0;
  const float* bias = nullptr;  // [N] or null
  float scale = 1.0f;           // applied after the bias (the softmax scale folded into Q)
};

// Activation rows quantized for an int8-weight projection (kernels/gemm_int8.hpp), indexed
// from the first row of the batch: row r's int8 values at q + r·ld (K rounded up to 4 bytes),
// its int8_blocks(K) block scales at scales + r·blocks, the fp32 values of its outlier
// features at outliers + r·outlier_count.
struct Int8Rows {
  const std::int8_t* q = nullptr;
  std::ptrdiff_t ld = 0;
  const float* scales = nullptr;
  int blocks = 0;
  const float* outliers = nullptr;
  int outlier_count = 0;
};

// Everything that can mask a score, resolved for one (batch, head).
struct MaskView {
  const float* attn_add = nullptr;          // [q_len][mask_ld] additive, or null
  const std::uint8_t* attn_bool = nullptr;  // [q_len][mask_ld] boolean, or null
  bool attn_bool_blocks_if_true = true;
  std::ptrdiff_t mask_ld = 0;
  const float* kpm_add = nullptr;          // [kv_len] additive, or null
  const std::uint8_t* kpm_bool = nullptr;  // [kv_len] boolean, or null
  bool kpm_bool_blocks_if_true = true;
  bool causal = false;    // key j > query i + causal_offset is masked
  int causal_offset = 0;  // 0: top-left aligned; a KV cache's past length: bottom-right aligned
  int kv_len = 0;         // keys at j >= kv_len (the bias_k position) are never masked
  int mask_cols = 0;      // columns of the attention mask (0: kv_len); keys past them are masked
  int valid_keys = -1;    // keys at j >= valid_keys are masked (per-batch valid length); -1: all
  float softcap = 0.0f;   // > 0: scores become softcap·tanh(score/softcap) before any mask
  // A KV cache kept as a ring (sliding window): key j's age is (ring_newest_slot - j) mod
  // ring_capacity (0 = newest), query row i's age is query_age0 - i. Causal blocks keys younger
  // than the query, the window keys at least `window` older. Replaces causal_offset.
  int ring_capacity = 0;
  int ring_newest_slot = 0;
  int query_age0 = 0;
  int window = 0;
};

// One (batch, head) of head-major Q, Kᵀ, V and where its output goes.
struct HeadView {
  const float* q = nullptr;  // [q_len][head_dim], pre-scaled
  // Elements of the kernel's KV type (fp32, or f16 in a KV cache):
  const void* kt = nullptr;  // [head_dim][kv_ld], kv_ld a multiple of the port's kt_pad_keys
  const void* v = nullptr;   // [kv_total][v_dim]
  // int8 KV caches: one scale per position of Kᵀ's columns and of V's rows (else null).
  const float* k_scale = nullptr;
  const float* v_scale = nullptr;
  std::ptrdiff_t kv_ld = 0;
  int kv_total = 0;      // kv_len plus the bias_k position, if any
  int head_dim = 0;      // of Q and K
  int v_dim = 0;         // of V and the output (ONNX allows it to differ from head_dim)
  float* out = nullptr;  // row i at out + i * out_ld, v_dim floats
  std::ptrdiff_t out_ld = 0;
};

}  // namespace edgeattn::kernels
