// The oracle of the attention core: ONNX Attention's computation in plain double-precision
// loops over the same AttentionArgs the library reads (see README, "Attention core"):
// scale·Q·Kᵀ, softcap, mask (narrower masks block the rest), valid lengths, causal aligned
// bottom-right, softmax, ·V; a fully masked row gives zeros.
#pragma once

#include <vector>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn::reference {

struct CoreResult {
  std::vector<double> y;  // in args.layout
  std::vector<double> present_key,
      present_value;       // [batch, kv_heads, total, head_dim / v_head_dim]
  std::vector<double> qk;  // [batch, q_heads, q_len, total], args.qk_mode
};

CoreResult attention_core(const AttentionArgs& args);

}  // namespace edgeattn::reference
