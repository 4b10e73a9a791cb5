// ONNX `Attention` on .npy arrays: maps the operator's inputs, attributes and optional outputs
// onto edgeattn::attention (shapes inferred from the arrays as the operator infers them),
// shared by `edgeattn sdpa` and the conformance tests. float16 inputs are computed in float32;
// `half` in the result says the outputs should be written back as float16.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "formats/npy.hpp"

namespace edgeattn::formats {

struct SdpaInputs {
  Array q, k, v;
  std::optional<Array> attn_mask, past_key, past_value, nonpad_kv_seqlen;
  bool causal = false;
  std::optional<float> scale;
  float softcap = 0.0f;
  int q_heads = 0, kv_heads = 0;  // required for 3-D Q/K/V; checked against 4-D shapes if set
  bool want_present = false;
  bool want_qk = false;
  int qk_mode = 0;
  const char* port = nullptr;
  ElementType kv_type = ElementType::f32;  // how the core stages K and V (f32 or f16)
};

struct SdpaTensor {
  std::vector<std::size_t> shape;
  std::vector<float> data;
};

struct SdpaOutputs {
  SdpaTensor y, present_key, present_value, qk;  // the optional ones empty unless asked for
  bool half = false;                             // Q was float16
};

// Throws FormatError for arrays that do not fit the operator, std::runtime_error with the
// library's message for what the library rejects.
SdpaOutputs run_sdpa(const SdpaInputs& in, const Executor& executor);

}  // namespace edgeattn::formats
