// The attention engine: one plan and one set of stage functions that the layer, the attention
// core, cached attention and Layer::decode all call. A front-end reduces its inputs to
//   - AttentionDims  (batch, heads, lengths, head widths),
//   - HeadSources    (where head-major Q, Kᵀ and V lie and where each head's output goes),
//   - MaskSource     (everything that can mask a score, resolved per (batch, head)),
// plans once with plan_attention() (which adds the stage's scratch to the front-end's workspace
// layout and takes the padding rules from the port's kernel table), and runs attend().
//
// Paths (chosen by the front-end when it plans):
//   tiles    flash-style tiles: per (batch, head, query tile) one attend_tile call;
//   rows     one row at a time with its probabilities materialised (attention weights, ONNX
//            qk_matmul_output): scratch for one row of keys per thread;
//   split_kv one query over the keys in fixed chunks (decode_chunk_keys), merged in chunk
//            order — the decode step over a cache; the chunking depends on the length and the
//            cache's element type only, so the result is bitwise the same for any thread count.
#pragma once

#include <cstddef>
#include <cstdint>

#include "edgeattn/edgeattn.hpp"
#include "engine/workspace.hpp"
#include "kernel_table.hpp"

namespace edgeattn::engine {

// A split-KV chunk's keys: 256 for an f32 cache (1 KB of each Kᵀ row), 1024 for f16 and int8
// (2 KB and 1 KB). Measured on the S6 decode step from memory (Zen 4, interleaved runs): f16
// 1024 keys 441–447 µs against 473–505 at 512 and 495–504 at 256; int8 1024 keys about 6 %
// faster than 256 (whose 256-byte runs kv_ld apart waited on memory); f32 the same at 256, 512
// and 1024. Fewer chunks also mean fewer partial states to merge.
inline int decode_chunk_keys(int kv_type) { return kv_type == 0 ? 256 : 1024; }

struct AttentionDims {
  int batch = 0, q_heads = 0, kv_heads = 0, q_len = 0;
  int keys = 0;  // positions attended; for a cache the capacity (the most it will hold)
  int head_dim = 0, v_dim = 0;
  int kv_type = 0;  // element type of Kᵀ and V (ElementType's value): f32; f16, int8 in a cache
};

enum class AttendPath { tiles, rows, split_kv };

struct AttentionPlan {
  AttentionDims d;
  const KernelTable* kernels = nullptr;
  KernelTable::AttendTile tile = nullptr;  // specialised for the head width where the port has one
  AttendPath path = AttendPath::tiles;
  int q_tiles = 0;
  std::size_t slot0 = 0, slot_stride = 0;  // per-thread scratch in the workspace (floats)
  std::size_t states = 0;  // split_kv: partial states [batch][q_heads][chunk][2 + v_dim]
};

// Kᵀ row length for `keys` positions: the attention micro-kernel reads whole NR-column tiles
// past the last key, so rows are padded to the port's kt_pad_keys.
std::size_t kt_row_floats(const KernelTable& k, std::size_t keys);
// The same for storage any port of this build may read (a KV cache is made before a port is).
std::size_t kt_row_floats_any_port(std::size_t keys);
// Floats after V's last row that the micro-kernel may read (they feed only unused results).
std::size_t v_slack_floats(const KernelTable& k);
std::size_t v_slack_floats_any_port();

// Adds the stage's scratch (and split-KV states) for `threads` threads to `layout`. The rows
// path also reserves tile scratch when `also_tiles` (the layer decides per run whether weights
// are wanted).
void plan_attention(const AttentionDims& d, const KernelTable& k, AttendPath path, int threads,
                    bool also_tiles, WorkspaceLayout* layout, AttentionPlan* plan);

// Head-major operands: head h of batch b reads Q at q + b·q_batch + h·q_head ([q_len][head_dim],
// pre-scaled), Kᵀ and V of its kv head g = h / (q_heads / kv_heads), and writes its output rows
// at out + b·out_batch + h·out_head, out_row apart.
// Kᵀ and V hold elements of the plan's kv_type; their strides count elements.
struct HeadSources {
  const float* q = nullptr;
  std::ptrdiff_t q_batch = 0, q_head = 0;
  const void* kt = nullptr;
  std::ptrdiff_t kt_batch = 0, kt_head = 0, kv_ld = 0;
  const void* v = nullptr;
  std::ptrdiff_t v_batch = 0, v_head = 0;
  // int8 caches: per-position scales of K and V, [batch][kv head][positions] (else null).
  const float* k_scale = nullptr;
  const float* v_scale = nullptr;
  std::ptrdiff_t scale_batch = 0, scale_head = 0;
  float* out = nullptr;
  std::ptrdiff_t out_batch = 0, out_head = 0, out_row = 0;
};

// The masks of every (batch, head): `common` holds what all heads share; the attention mask
// and key-padding pointers advance by these strides (0 where a mask broadcasts). With
// valid_keys, batch b sees keys below valid_keys[b] and, when valid_keys_shift_causal, its
// causal diagonal is offset by valid_keys[b] - q_len (bottom-right aligned).
struct MaskSource {
  kernels::MaskView common;
  std::ptrdiff_t attn_batch = 0, attn_head = 0;
  std::ptrdiff_t kpm_batch = 0;
  const std::int64_t* valid_keys = nullptr;
  bool valid_keys_shift_causal = false;
};

kernels::HeadView head_view(const AttentionDims& d, int keys, const HeadSources& s, int b, int h);
kernels::MaskView mask_view(const AttentionDims& d, const MaskSource& m, int b, int h);

// tiles or split_kv: the outputs of every (batch, head) over `keys` positions.
void attend(const AttentionPlan& p, int keys, const HeadSources& s, const MaskSource& m, float* ws,
            const Executor& exec);

// rows: as attend(), also writing the attention weights in torch's layout — per head
// [batch][q_heads][q_len][keys], or averaged over heads [batch][q_len][keys] (each (batch,
// query tile) task sums its heads in order, so the average is deterministic).
void attend_with_weights(const AttentionPlan& p, const HeadSources& s, const MaskSource& m,
                         bool averaged, float* weights, float* ws, const Executor& exec);

// rows: as attend(), also writing the scores at step `mode` (ONNX qk_matmul_output, 0..3) to
// scores [batch][q_heads][q_len][keys].
void attend_with_scores(const AttentionPlan& p, const HeadSources& s, const MaskSource& m, int mode,
                        float* scores, float* ws, const Executor& exec);

}  // namespace edgeattn::engine
