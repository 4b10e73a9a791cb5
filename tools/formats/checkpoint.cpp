#include "checkpoint.hpp"

namespace edgeattn::formats {
namespace {

[[noreturn]] void fail(const SafeTensors& f, const std::string& what) {
  throw FormatError(f.path() + ": " + what);
}

std::string dims(const std::vector<std::size_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// Reads a 2-D [rows, cols] tensor; rows/cols of 0 accept any.
std::vector<float> matrix(const SafeTensors& f, const std::string& name, std::size_t rows,
                          std::size_t cols, std::size_t* rows_out = nullptr,
                          std::size_t* cols_out = nullptr) {
  const auto s = f.shape(name);
  if (s.size() != 2 || (rows && s[0] != rows) || (cols && s[1] != cols) || s[0] == 0 || s[1] == 0)
    fail(f, "tensor '" + name + "' has shape " + dims(s) + ", expected [" +
                (rows ? std::to_string(rows) : "?") + ", " + (cols ? std::to_string(cols) : "?") + "]");
  if (rows_out) *rows_out = s[0];
  if (cols_out) *cols_out = s[1];
  return f.read_float(name);
}

// Reads an optional vector of n elements (any shape with n elements, e.g. bias_k's [1, 1, E]).
std::vector<float> optional_vector(const SafeTensors& f, const std::string& name, std::size_t n) {
  if (!f.has(name)) return {};
  std::vector<float> v = f.read_float(name);
  if (v.size() != n)
    fail(f, "tensor '" + name + "' has shape " + dims(f.shape(name)) + ", expected " + std::to_string(n) + " elements");
  return v;
}

}  // namespace

AttentionWeights load_attention_weights(const SafeTensors& f, const std::string& p) {
  AttentionWeights w;
  std::size_t E = 0, kdim = 0, vdim = 0, wkv = 0;
  if (f.has(p + "in_proj_weight")) {
    w.convention = "torch-in_proj";
    std::size_t rows = 0;
    std::vector<float> in = matrix(f, p + "in_proj_weight", 0, 0, &rows, &E);
    if (rows != 3 * E) fail(f, "tensor '" + p + "in_proj_weight' has shape " + dims(f.shape(p + "in_proj_weight")) + ", expected [3*E, E]");
    w.q.assign(in.begin(), in.begin() + E * E);
    w.k.assign(in.begin() + E * E, in.begin() + 2 * E * E);
    w.v.assign(in.begin() + 2 * E * E, in.end());
    kdim = vdim = wkv = E;
  } else if (f.has(p + "q_proj_weight")) {
    w.convention = "torch-separate";
    w.q = matrix(f, p + "q_proj_weight", 0, 0, &E, nullptr);
    w.k = matrix(f, p + "k_proj_weight", E, 0, nullptr, &kdim);
    w.v = matrix(f, p + "v_proj_weight", E, 0, nullptr, &vdim);
    wkv = E;
  } else if (f.has(p + "q_proj.weight")) {
    w.convention = "huggingface";
    w.q = matrix(f, p + "q_proj.weight", 0, 0, &E, nullptr);
    w.k = matrix(f, p + "k_proj.weight", 0, 0, &wkv, &kdim);
    w.v = matrix(f, p + "v_proj.weight", wkv, 0, nullptr, &vdim);
  } else {
    std::string some;
    const auto names = f.names();
    for (std::size_t i = 0; i < names.size() && i < 6; ++i) some += (i ? ", " : "") + names[i];
    fail(f, "no attention weights under prefix '" + p + "' (looked for in_proj_weight, q_proj_weight, q_proj.weight; file has: " + some + (names.size() > 6 ? ", ..." : "") + ")");
  }
  if (w.convention != "huggingface") {
    if (f.has(p + "in_proj_bias")) {
      std::vector<float> b = optional_vector(f, p + "in_proj_bias", 3 * E);
      w.q_bias.assign(b.begin(), b.begin() + E);
      w.k_bias.assign(b.begin() + E, b.begin() + 2 * E);
      w.v_bias.assign(b.begin() + 2 * E, b.end());
    }
  } else {
    w.q_bias = optional_vector(f, p + "q_proj.bias", E);
    w.k_bias = optional_vector(f, p + "k_proj.bias", wkv);
    w.v_bias = optional_vector(f, p + "v_proj.bias", wkv);
  }
  w.out = matrix(f, p + "out_proj.weight", E, E);
  w.out_bias = optional_vector(f, p + "out_proj.bias", E);
  w.bias_k = optional_vector(f, p + "bias_k", wkv);
  w.bias_v = optional_vector(f, p + "bias_v", wkv);
  if (w.bias_k.empty() != w.bias_v.empty()) fail(f, "bias_k and bias_v must both be present or both absent");
  w.embed_dim = static_cast<int>(E);
  w.kdim = static_cast<int>(kdim);
  w.vdim = static_cast<int>(vdim);
  w.kv_width = static_cast<int>(wkv);
  return w;
}

LayerSpec AttentionWeights::spec(int num_heads, int num_kv_heads) const {
  auto ptr = [](const std::vector<float>& t) { return t.empty() ? nullptr : t.data(); };
  LayerSpec s;
  s.embed_dim = embed_dim;
  s.num_heads = num_heads;
  s.num_kv_heads = num_kv_heads;
  s.kdim = kdim;
  s.vdim = vdim;
  s.weight_layout = WeightLayout::out_in;
  s.weights = {ptr(q), ptr(k), ptr(v), ptr(out), ptr(q_bias), ptr(k_bias), ptr(v_bias), ptr(out_bias), ptr(bias_k), ptr(bias_v)};
  return s;
}

}  // namespace edgeattn::formats
