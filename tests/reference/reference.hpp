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
  // int8 weights: the most one step of one int8 activation of the output projection changes an
  // output (the largest row scale of the quantized concatenation times the largest |Wo|). The
  // layer quantizes its fp32 concatenation, the reference its double one: a value near a
  // rounding boundary may land one step apart. 0 for other weight types.
  double int8_step_effect = 0.0;
  std::vector<double> output;        // in args.layout, like the library's output
  std::vector<double> weights_avg;   // [batch, q_len, kv_total]
  std::vector<double> weights_head;  // [batch, heads, q_len, kv_total]
};

Result multi_head_attention(const LayerSpec& spec, const RunArgs& args);

}  // namespace edgeattn::reference
