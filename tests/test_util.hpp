// Shared test helpers: a random attention case (weights, inputs, masks) that owns its buffers
// and builds the LayerSpec/RunArgs for both the library and the reference, plus comparison.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "reference/reference.hpp"

namespace edgeattn::test {

struct CaseConfig {
  int embed_dim = 8, num_heads = 2, num_kv_heads = 0, kdim = 0, vdim = 0;
  WeightLayout weight_layout = WeightLayout::out_in;
  ElementType weight_type = ElementType::f32;    // the layer's packed weights
  ElementType weight_source = ElementType::f32;  // the weights as handed to create()
  std::vector<int> int8_inputs, int8_heads;      // int8 outlier features (LayerSpec)
  bool q_bias = true, k_bias = true, v_bias = true, out_bias = true, bias_kv = false;
  std::optional<float> scale;
  SequenceLayout layout = SequenceLayout::batch_first;
  int batch = 1, q_len = 4, kv_len = 4;
  bool cross = false;  // separate key/value inputs
  MaskType attn_mask = MaskType::none;
  int attn_mask_rank = 2;
  BoolMaskSense attn_mask_sense = BoolMaskSense::blocks_if_true;
  MaskType key_padding_mask = MaskType::none;
  BoolMaskSense kpm_sense = BoolMaskSense::blocks_if_true;
  bool causal = false;
  AttnWeightsOutput weights = AttnWeightsOutput::none;
  std::string describe() const;
};

// 3 heads, batch 1, 97 tokens, additive mask (like S2): parallelism must come from query tiles.
CaseConfig three_head_config();

// A random but valid configuration, from small to medium sizes.
CaseConfig random_config(std::mt19937& rng);

struct Case {
  CaseConfig cfg;
  std::vector<float> wq, wk, wv, wo, bq, bk, bv, bo, bias_k, bias_v;
  // The four matrices as 16-bit patterns when cfg.weight_source is f16 or bf16 (rounded from
  // the floats above; the reference dequantizes what spec() hands over).
  std::vector<std::uint16_t> wq16, wk16, wv16, wo16;
  std::vector<float> query, key, value;
  std::vector<float> attn_mask_f, kpm_f;
  std::vector<std::uint8_t> attn_mask_b, kpm_b;

  LayerSpec spec() const;
  RunArgs args(float* output, float* weights) const;
  std::size_t output_size() const;
  std::size_t weights_size() const;
  int kv_total() const { return cfg.kv_len + (cfg.bias_kv ? 1 : 0); }
};

Case make_case(const CaseConfig& cfg, std::uint32_t seed);

struct LibraryResult {
  Status status;
  std::vector<float> output, weights;
};
LibraryResult run_library(const Case& c, int threads, const char* port = nullptr);

// Every kernel port this build carries and this CPU can run (tests run each of them).
std::vector<std::string> runnable_ports();
LibraryResult run_layer(const Layer& layer, const Case& c, const Executor& exec);

// Aligned workspace buffer for tests.
struct Workspace {
  explicit Workspace(std::size_t bytes);
  void* data() const { return ptr.get(); }
  std::size_t bytes;
  std::unique_ptr<unsigned char, void (*)(void*)> ptr;
};

// max over i of |got - want| / (atol + rtol·|want|): a value <= 1 passes.
struct Comparison {
  double worst = 0.0;
  std::size_t index = 0;
  double got = 0.0, want = 0.0;
  bool ok() const { return worst <= 1.0; }
  std::string describe() const;
};
Comparison compare(const std::vector<float>& got, const std::vector<double>& want, double atol,
                   double rtol);
Comparison compare(const float* got, const float* want, std::size_t n, double atol, double rtol);

// The suite's tolerance for fp32 against the double reference: grows with sqrt of the longest
// reduction (the projection width or the number of keys).
double output_atol(const CaseConfig& cfg);
// output_atol; with int8 weights plus two steps of the output projection's int8 activations
// (reference::Result::int8_step_effect): the reference quantizes its own (double)
// concatenation of the heads, whose values can land one step from the layer's fp32 ones at a
// rounding boundary. Everything else of the int8 scheme is emulated exactly.
double reference_atol(const CaseConfig& cfg, const reference::Result& want);

// x rounded to `type` (f16, bf16: to nearest even) and widened back; x itself for f32.
float round_to(float x, ElementType type);
// Each `width`-float row of x quantized to int8 by the documented rule (amax / 127 per row)
// and dequantized: what an int8 KV cache holds of it (rows of one position and head).
void dequantize_int8_rows(std::vector<float>* x, int width);

// Number of random cases: EDGEATTN_TEST_CASES overrides the default (sanitizer and emulated
// runs use fewer).
int case_count(int default_count);

}  // namespace edgeattn::test
