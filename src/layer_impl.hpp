// Layer internals shared by the planner (layer.cpp), the executor (run.cpp) and the C API.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

#include "edgeattn/edgeattn.hpp"
#include "kernel_table.hpp"

namespace edgeattn {

// 64-byte aligned float storage owned by a layer (packed weights, biases, owned workspace).
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
AlignedFloats allocate_floats(std::size_t count);  // null on failure

// Where each region of one run's workspace starts (in floats from the workspace start).
struct WorkspacePlan {
  std::size_t q = 0, kt = 0, v = 0, concat = 0, scratch = 0;
  std::size_t scratch_per_slot = 0;  // floats, a multiple of 16
  std::size_t kv_ld = 0;             // leading dimension of Kᵀ = kv_total
  std::size_t total_floats = 0;
  // Checked-arena builds (EDGEATTN_CHECKED_ARENA): a guard of kGuardFloats after every region
  // and at the end of every thread slot, filled before a run and verified after it.
  static constexpr std::size_t kGuardFloats = 16;
  static constexpr int kMaxGuards = 5;
  std::size_t guards[kMaxGuards] = {};
  const char* guard_after[kMaxGuards] = {};
  int num_guards = 0;
  int slots = 0;  // each slot's last kGuardFloats are its guard
};

inline constexpr bool kCheckedArena =
#if defined(EDGEATTN_CHECKED_ARENA)
    true;
#else
    false;
#endif

struct Layer::Impl {
  int embed_dim = 0, num_heads = 0, num_kv_heads = 0, head_dim = 0, kdim = 0, vdim = 0;
  int kv_width = 0;  // num_kv_heads * head_dim
  float scale = 1.0f;
  const KernelTable* kernels = nullptr;  // the port, chosen at create()
  // Packed panels. Q, K and V lie back to back in one buffer so that self-attention runs them
  // as one GEMM over the concatenated panels (wq, wk, wv point into wqkv).
  AlignedFloats wqkv, wo;
  const float *wq = nullptr, *wk = nullptr, *wv = nullptr;
  AlignedFloats bq, bk, bv, bo;  // biases, null when absent
  AlignedFloats bias_k, bias_v;  // add_bias_kv, null when absent

  // Convenience arena (spec.max_*).
  Shape max_shape;
  std::unique_ptr<Executor> owned_executor;
  AlignedFloats owned_workspace;
  std::size_t owned_workspace_bytes = 0;

  bool has_bias_kv() const { return bias_k != nullptr; }
  Status plan(const Shape& shape, int num_threads, WorkspacePlan* plan) const;
  Status run(const RunArgs& args, void* workspace, std::size_t bytes, const Executor& exec) const;

  // Layer::decode: Q head-major, the new K and V rows staged [batch][q_len][kv_width] before
  // they enter the cache, the concatenated heads, and the cached attention's scratch.
  struct DecodePlan {
    std::size_t q = 0, k_stage = 0, v_stage = 0, concat = 0, scratch = 0, total_floats = 0;
  };
  Status decode_plan(const KvCache& cache, const Shape& shape, int num_threads, DecodePlan* plan) const;
  Status decode(const RunArgs& args, KvCache* cache, void* workspace, std::size_t bytes,
                const Executor& exec) const;
};

}  // namespace edgeattn
