// The oracle: multi-head attention in plain double-precision loops, written for clarity and
// not for speed. It reads the same LayerSpec and RunArgs as the library and follows
// torch.nn.MultiheadAttention's forward pass step by step (projections, per-head softmax
// attention with masks, concatenation, output projection), except that a fully masked row
// gives zeros, as edgeattn documents.
#pragma once

#include <vector>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn::reference {

struct Result {
  std::vector<double> output;        // in args.layout, like the library's output
  std::vector<double> weights_avg;   // [batch, q_len, kv_total]
  std::vector<double> weights_head;  // [batch, heads, q_len, kv_total]
};

Result multi_head_attention(const LayerSpec& spec, const RunArgs& args);

}  // namespace edgeattn::reference
