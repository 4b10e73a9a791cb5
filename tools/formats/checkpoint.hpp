// One attention layer's weights from a .safetensors state dict, by PyTorch's
// nn.MultiheadAttention names (in_proj_weight / q_proj_weight..., out_proj.weight, bias_k,
// bias_v) or Hugging Face's (q_proj.weight, k_proj.weight, v_proj.weight, out_proj.weight, each
// with an optional .bias), under an optional prefix such as
// "model.encoder.layers.0.self_attn.". All weights are PyTorch [out, in].
//
// Every dimension of every tensor the layer reads is checked against the layer it builds
// (rank, rows, columns, bias lengths) before any data is read: a mismatch is a FormatError of
// one line naming the file, the tensor, its shape and the shape expected.
#pragma once

#include <string>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "safetensors.hpp"

namespace edgeattn::formats {

struct AttentionWeights {
  std::string convention;  // "torch-in_proj", "torch-separate" or "huggingface"
  int embed_dim = 0, kdim = 0, vdim = 0, kv_width = 0;
  int num_heads = 0, num_kv_heads = 0;
  std::vector<float> q, k, v, out, q_bias, k_bias, v_bias, out_bias, bias_k, bias_v;
  // Where the four matrices are all F16 or all BF16 in the file they are kept so (q16, k16,
  // v16, out16: bit patterns), never widened; else they are read to float (q, k, v, out).
  ElementType element_type = ElementType::f32;
  std::vector<std::uint16_t> q16, k16, v16, out16;
  // A spec pointing into this object (which must outlive create()).
  LayerSpec spec() const;
};

// num_heads: the layer's query heads (must divide embed_dim). num_kv_heads: 0 takes the key/value
// heads from the checkpoint's key/value width (grouped-query attention); otherwise that width
// must be num_kv_heads * head_dim.
AttentionWeights load_attention_weights(const SafeTensors& file, const std::string& prefix,
                                        int num_heads, int num_kv_heads = 0);

}  // namespace edgeattn::formats
