// A layer's state (its packed weights) and its two plans: a forward run of one shape, and a
// decode step over a KV cache. Shared by create.cpp, validate.cpp, run.cpp and decode.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aligned_buffer.hpp"
#include "edgeattn/edgeattn.hpp"
#include "engine/attention.hpp"
#include "engine/projection.hpp"
#include "engine/workspace.hpp"
#include "kernel_table.hpp"
#include "kv_cache/kv_cache_impl.hpp"

namespace edgeattn {

// A forward run of one shape: the workspace regions (head-major Q, Kᵀ, V, the concatenated
// heads, the attention stage's scratch), the projection grids and the attention plan.
struct LayerRunPlan {
  Shape shape;  // kv_len resolved
  int threads = 0, kv_total = 0;
  engine::WorkspaceLayout ws;
  std::size_t q = 0, kt = 0, v = 0, concat = 0, kv_ld = 0;
  engine::AttentionPlan attn;
  engine::Projection fused;       // self-attention: X through [Wq | Wk | Wv]
  engine::Projection pq, pk, pv;  // cross-attention: one projection per input
  engine::Projection out;         // the concatenated heads through Wo
};

// A decode step (or prompt) of q_len tokens over a cache of one geometry.
struct LayerDecodePlan {
  Shape shape;
  int threads = 0;
  CacheGeometry cache;
  engine::WorkspaceLayout ws;
  std::size_t q = 0, k_stage = 0, v_stage = 0, concat = 0;
  engine::AttentionPlan attn;
  engine::Projection qkv, out;
};

struct detail::LayerImpl {
  int embed_dim = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0, kdim = 0, vdim = 0;
  int kv_width = 0;  // num_kv_heads * head_dim
  float scale = 1.0f;
  const KernelTable* kernels = nullptr;  // the port, chosen at create()
  // Packed panels of weight_type elements, the four matrices back to back in one buffer: Q, K
  // and V consecutive so that self-attention runs them as one GEMM over the concatenated panels,
  // and one buffer so that an int8 or f16 layer's weights reach the huge-page size (see
  // allocate_floats). wq, wk, wv and wout point into it, each 64-byte aligned.
  ElementType weight_type = ElementType::f32;
  // int8: the outlier features of the inputs (Wq, Wk, Wv) and of the concatenated heads (Wo).
  std::int32_t input_features[kInt8MaxOutliers] = {}, head_features[kInt8MaxOutliers] = {};
  int input_outliers = 0, head_outliers = 0;
  AlignedFloats packed;
  const void *wq = nullptr, *wk = nullptr, *wv = nullptr, *wout = nullptr;
  std::size_t packed_bytes = 0;  // of the four matrices' panels
  // A layer made by create_packed() reads its panels in place in the caller's blob (`packed`
  // is then empty; the biases are copied, a few KB).
  AlignedFloats bq, bk, bv, bo;  // biases, null when absent
  AlignedFloats bias_k, bias_v;  // add_bias_kv, null when absent

  // Convenience arena (spec.max_*): one plan for the maximum shape's workspace and executor.
  Shape max_shape;
  std::unique_ptr<Executor> owned_executor;
  AlignedFloats owned_workspace;
  std::size_t owned_workspace_bytes = 0;

  bool has_bias_kv() const { return bias_k != nullptr; }
};
using LayerImpl = detail::LayerImpl;

// create.cpp: the spec's checks, the dimensions it implies, and copies of biases.
Status validate_layer_spec(const LayerSpec& spec);
void set_layer_dims(LayerImpl& L, const LayerSpec& spec);
AlignedFloats copy_floats(const float* src, std::size_t n, bool* oom);
// Packs one matrix of spec.weights (in × out) into panels panel_columns wide of
// spec.weight_type at dst (int8: the matrix's outlier features apart); a weight too large for
// the type is an error naming `what`.
Status pack_matrix(int panel_columns, const LayerSpec& spec, const void* src, const char* what,
                   int in, int out, const std::int32_t* int8_features, int int8_outliers,
                   void* dst);

// packed.cpp: a blob's checksum (its own field read as zero) and where that field lies (tests
// and the fuzzer use them to make blobs whose header lies with a valid checksum).
std::uint64_t packed_blob_checksum(const unsigned char* blob, std::size_t size);
std::size_t packed_blob_checksum_offset();

// validate.cpp: the checks of a run's arguments against the layer and the plan's shape.
Status validate_run_args(const LayerImpl& L, const RunArgs& a, const Shape& planned);
Status validate_decode_args(const LayerImpl& L, const RunArgs& a, const Shape& planned);

// run.cpp
Status plan_run(const LayerImpl& L, const Shape& shape, int num_threads, LayerRunPlan* p);
Status run_planned(const LayerImpl& L, const LayerRunPlan& p, const RunArgs& a, void* workspace,
                   std::size_t workspace_bytes, const Executor& exec);
// The output projection: the concatenated heads [batch][q_len][E] through Wo (and its bias)
// into the caller's output, in the caller's layout (workspace: its quantized rows, int8).
void project_output(const LayerImpl& L, engine::Projection out, float* workspace,
                    const float* concat, const RunArgs& a, const Executor& exec);

// calibrate.cpp: the n (clamped to [0, kInt8MaxOutliers] and count) features of largest amax,
// largest first, ties to the lower index, into out[]; returns how many. NaN is never larger.
// No allocation.
int int8_top_features(const float* amax, std::size_t count, int n, int* out);

// decode.cpp
Status plan_decode(const LayerImpl& L, const CacheGeometry& cache, const Shape& shape,
                   int num_threads, LayerDecodePlan* p);
Status decode_planned(const LayerImpl& L, const LayerDecodePlan& p, const RunArgs& a,
                      KvCache* cache, void* workspace, std::size_t workspace_bytes,
                      const Executor& exec);

}  // namespace edgeattn
