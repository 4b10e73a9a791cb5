#include "checkpoint.hpp"

namespace edgeattn::formats {
namespace {

// Larger dimensions are refused before they are narrowed to int.
constexpr std::size_t kMaxDim = std::size_t{1} << 30;

[[noreturn]] void fail(const SafeTensors& f, const std::string& what) {
  throw FormatError(f.path() + ": " + what);
}

std::string dims(const std::vector<std::size_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// The checkpoint's tensors under one prefix, each checked against the shape the layer needs.
class Reader {
 public:
  Reader(const SafeTensors& f, std::string prefix) : f_(f), p_(std::move(prefix)) {}
  bool has(const std::string& name) const { return f_.has(p_ + name); }
  std::vector<std::size_t> shape(const std::string& name) const {
    std::vector<std::size_t> s = f_.shape(p_ + name);
    for (std::size_t d : s)
      if (d == 0 || d > kMaxDim)
        fail(f_, "tensor '" + p_ + name + "' has shape " + dims(s) +
                     ": every dimension must be 1 to " + std::to_string(kMaxDim));
    return s;
  }
  // The tensor, which must have exactly the shape `want`; `meaning` names its dimensions.
  std::vector<float> read(const std::string& name, const std::vector<std::size_t>& want,
                          const std::string& meaning) const {
    check_shape(name, want, meaning);
    return f_.read_float(p_ + name);
  }
  void check_shape(const std::string& name, const std::vector<std::size_t>& want,
                   const std::string& meaning) const {
    const std::vector<std::size_t> s = shape(name);
    if (s != want)
      fail(f_, "tensor '" + p_ + name + "' has shape " + dims(s) + ", expected " + dims(want) +
                   " " + meaning);
  }
  // The same for a matrix kept in 16 bits (F16/BF16 in the file).
  std::vector<std::uint16_t> read_16bit(const std::string& name,
                                        const std::vector<std::size_t>& want,
                                        const std::string& meaning) const {
    check_shape(name, want, meaning);
    return f_.read_16bit(p_ + name);
  }
  DType dtype(const std::string& name) const { return f_.dtype(p_ + name); }
  std::vector<float> optional(const std::string& name, const std::vector<std::size_t>& want,
                              const std::string& meaning) const {
    return has(name) ? read(name, want, meaning) : std::vector<float>{};
  }
  // A 2-D tensor's shape, its dimensions still unchecked against the layer.
  std::vector<std::size_t> matrix_shape(const std::string& name) const {
    const std::vector<std::size_t> s = shape(name);
    if (s.size() != 2)
      fail(f_, "tensor '" + p_ + name + "' has shape " + dims(s) + ", expected a matrix [out, in]");
    return s;
  }

 private:
  const SafeTensors& f_;
  std::string p_;
};

}  // namespace

AttentionWeights load_attention_weights(const SafeTensors& f, const std::string& p, int num_heads,
                                        int num_kv_heads) {
  if (num_heads < 1)
    throw FormatError("the number of heads must be >= 1, got " + std::to_string(num_heads));
  if (num_kv_heads < 0)
    throw FormatError("the number of key/value heads must be >= 0, got " +
                      std::to_string(num_kv_heads));
  const Reader r(f, p);
  AttentionWeights w;
  // The embedding width E comes from the query projection's rows; every other tensor is
  // checked against E, the head width E / num_heads and the key/value width.
  std::size_t E = 0;
  if (r.has("in_proj_weight")) {
    w.convention = "torch-in_proj";
    E = r.matrix_shape("in_proj_weight")[1];
  } else if (r.has("q_proj_weight")) {
    w.convention = "torch-separate";
    E = r.matrix_shape("q_proj_weight")[0];
  } else if (r.has("q_proj.weight")) {
    w.convention = "huggingface";
    E = r.matrix_shape("q_proj.weight")[0];
  } else {
    std::string some;
    const auto names = f.names();
    for (std::size_t i = 0; i < names.size() && i < 6; ++i) some += (i ? ", " : "") + names[i];
    fail(f, "no attention weights under prefix '" + p +
                "' (looked for in_proj_weight, q_proj_weight, q_proj.weight; file has: " + some +
                (names.size() > 6 ? ", ..." : "") + ")");
  }
  const auto heads = static_cast<std::size_t>(num_heads);
  if (E % heads != 0)
    fail(f, "num_heads " + std::to_string(num_heads) + " does not divide embed_dim " +
                std::to_string(E) + " (from tensor '" + p +
                (w.convention == "torch-in_proj" ? "in_proj_weight"
                 : w.convention == "huggingface" ? "q_proj.weight"
                                                 : "q_proj_weight") +
                "')");
  const std::size_t head_dim = E / heads;
  const std::string ee = "([embed_dim, embed_dim])";
  std::size_t wkv = E, kdim = E, vdim = E;
  // The four matrices' tensors: all F16 or all BF16 keeps them 16-bit.
  const std::vector<std::string> matrices =
      w.convention == "torch-in_proj" ? std::vector<std::string>{"in_proj_weight"}
      : w.convention == "torch-separate"
          ? std::vector<std::string>{"q_proj_weight", "k_proj_weight", "v_proj_weight"}
          : std::vector<std::string>{"q_proj.weight", "k_proj.weight", "v_proj.weight"};
  const DType first = r.dtype("out_proj.weight");
  bool same = first == DType::f16 || first == DType::bf16;
  for (const std::string& m : matrices) same = same && r.dtype(m) == first;
  if (same) w.element_type = first == DType::f16 ? ElementType::f16 : ElementType::bf16;
  const bool bits16 = w.element_type != ElementType::f32;
  // Reads a matrix into the float or the 16-bit vector.
  auto matrix = [&](const std::string& name, const std::vector<std::size_t>& want,
                    const std::string& meaning, std::vector<float>* f32,
                    std::vector<std::uint16_t>* b16) {
    if (bits16)
      *b16 = r.read_16bit(name, want, meaning);
    else
      *f32 = r.read(name, want, meaning);
  };
  if (w.convention == "torch-in_proj") {
    std::vector<float> in;
    std::vector<std::uint16_t> in16;
    matrix("in_proj_weight", {3 * E, E}, "([3*embed_dim, embed_dim])", &in, &in16);
    auto split = [E](const auto& all, auto* q, auto* k, auto* v) {
      const auto n = static_cast<std::ptrdiff_t>(E * E);
      q->assign(all.begin(), all.begin() + n);
      k->assign(all.begin() + n, all.begin() + 2 * n);
      v->assign(all.begin() + 2 * n, all.end());
    };
    if (bits16)
      split(in16, &w.q16, &w.k16, &w.v16);
    else
      split(in, &w.q, &w.k, &w.v);
  } else if (w.convention == "torch-separate") {
    matrix("q_proj_weight", {E, E}, ee, &w.q, &w.q16);
    kdim = r.matrix_shape("k_proj_weight")[1];
    vdim = r.matrix_shape("v_proj_weight")[1];
    matrix("k_proj_weight", {E, kdim}, "([embed_dim, kdim])", &w.k, &w.k16);
    matrix("v_proj_weight", {E, vdim}, "([embed_dim, vdim])", &w.v, &w.v16);
  } else {
    matrix("q_proj.weight", {E, E}, ee, &w.q, &w.q16);
    const std::vector<std::size_t> k_shape = r.matrix_shape("k_proj.weight");
    wkv = k_shape[0];
    kdim = k_shape[1];
    vdim = r.matrix_shape("v_proj.weight")[1];
    if (wkv % head_dim != 0 || heads % (wkv / head_dim) != 0)
      fail(f, "tensor '" + p + "k_proj.weight' has shape " + dims(k_shape) + ": its " +
                  std::to_string(wkv) + " rows are not a number of key/value heads of width " +
                  std::to_string(head_dim) + " that divides " + std::to_string(num_heads) +
                  " query heads");
    matrix("k_proj.weight", {wkv, kdim}, "([kv_width, kdim])", &w.k, &w.k16);
    matrix("v_proj.weight", {wkv, vdim}, "([kv_width, vdim], kv_width from k_proj.weight)", &w.v,
           &w.v16);
  }
  if (num_kv_heads > 0 && wkv != static_cast<std::size_t>(num_kv_heads) * head_dim)
    fail(f, "the key/value projections are " + std::to_string(wkv) + " wide (" +
                std::to_string(wkv / head_dim) + " heads of " + std::to_string(head_dim) +
                "), not " + std::to_string(num_kv_heads) + " key/value heads" +
                (w.convention == "huggingface"
                     ? ""
                     : " (PyTorch's layout has as many key/value heads as query heads)"));
  if (w.convention == "huggingface") {
    w.q_bias = r.optional("q_proj.bias", {E}, "([embed_dim])");
    w.k_bias = r.optional("k_proj.bias", {wkv}, "([kv_width])");
    w.v_bias = r.optional("v_proj.bias", {wkv}, "([kv_width])");
  } else if (r.has("in_proj_bias")) {
    const std::vector<float> b = r.read("in_proj_bias", {3 * E}, "([3*embed_dim])");
    w.q_bias.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(E));
    w.k_bias.assign(b.begin() + static_cast<std::ptrdiff_t>(E),
                    b.begin() + static_cast<std::ptrdiff_t>(2 * E));
    w.v_bias.assign(b.begin() + static_cast<std::ptrdiff_t>(2 * E), b.end());
  }
  matrix("out_proj.weight", {E, E}, ee, &w.out, &w.out16);
  w.out_bias = r.optional("out_proj.bias", {E}, "([embed_dim])");
  // nn.MultiheadAttention(add_bias_kv=True) stores bias_k and bias_v as [1, 1, E].
  w.bias_k = r.optional("bias_k", {1, 1, wkv}, "([1, 1, kv_width])");
  w.bias_v = r.optional("bias_v", {1, 1, wkv}, "([1, 1, kv_width])");
  if (w.bias_k.empty() != w.bias_v.empty())
    fail(f, "bias_k and bias_v must both be present or both absent");
  w.embed_dim = static_cast<int>(E);
  w.kdim = static_cast<int>(kdim);
  w.vdim = static_cast<int>(vdim);
  w.kv_width = static_cast<int>(wkv);
  w.num_heads = num_heads;
  w.num_kv_heads = static_cast<int>(wkv / head_dim);
  return w;
}

LayerSpec AttentionWeights::spec() const {
  auto ptr = [](const std::vector<float>& t) { return t.empty() ? nullptr : t.data(); };
  LayerSpec s;
  s.embed_dim = embed_dim;
  s.num_heads = num_heads;
  s.num_kv_heads = num_kv_heads;
  s.kdim = kdim;
  s.vdim = vdim;
  s.weight_layout = WeightLayout::out_in;
  s.weights = {ptr(q),      ptr(k),      ptr(v),        ptr(out),    ptr(q_bias),
               ptr(k_bias), ptr(v_bias), ptr(out_bias), ptr(bias_k), ptr(bias_v)};
  if (element_type != ElementType::f32) {
    s.weights.q = q16.data();
    s.weights.k = k16.data();
    s.weights.v = v16.data();
    s.weights.out = out16.data();
    s.weights.element_type = element_type;
  }
  return s;
}

}  // namespace edgeattn::formats
