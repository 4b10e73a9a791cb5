// The plan of the attention core (ONNX Attention semantics on caller-projected Q, K, V): the
// sizes it was made for, the workspace (Q scaled head-major, Kᵀ and V of past and new keys) and
// the engine's attention stage.
#pragma once

#include <cstddef>

#include "edgeattn/edgeattn.hpp"
#include "engine/attention.hpp"
#include "engine/workspace.hpp"

namespace edgeattn {

struct CoreDims {
  AttentionLayout layout = AttentionLayout::bhsd;
  int B = 0, Hq = 0, G = 0, Lq = 0, Lkv = 0, Lp = 0, Lt = 0, D = 0, Dv = 0;
  int kv_type = 0;  // the staged Kᵀ and V: ElementType f32 or f16
  bool operator==(const CoreDims& o) const {
    return layout == o.layout && B == o.B && Hq == o.Hq && G == o.G && Lq == o.Lq && Lkv == o.Lkv &&
           Lp == o.Lp && D == o.D && Dv == o.Dv && kv_type == o.kv_type;
  }
};

struct CorePlan {
  CoreDims d;
  bool scores = false;  // room for the qk_matmul_output rows
  int threads = 0;
  const KernelTable* kernels = nullptr;
  engine::WorkspaceLayout ws;
  std::size_t q = 0, kt = 0, v = 0, kv_ld = 0;  // regions in floats; kv_ld in elements
  engine::AttentionPlan attn;
};

// validate.cpp. The sizes a plan is made for (filling d).
Status validate_sizes(const AttentionArgs& a, CoreDims* d);
// The options a run may change under one plan; fills the mask's dims [B, H, L, M], rank padded
// to 4.
Status validate_options(const AttentionArgs& a, const CoreDims& d, int* mask_dims);
Status validate_pointers(const AttentionArgs& a, const CoreDims& d);

}  // namespace edgeattn
