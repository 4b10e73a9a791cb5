#include "reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/convert.hpp"

namespace edgeattn::reference {
namespace {

// int8 as the library documents it (edgeattn.hpp, LayerSpec::weight_type): for a vector x
// with amax = max|x|, q = x · (127 / amax) rounded to nearest even and clamped to ±127, in fp32
// arithmetic; x ≈ q · (amax / 127). Written here from that rule, not from the kernels.
struct Int8Rule {
  float inv = 0.0f, scale = 0.0f;
  explicit Int8Rule(float amax) : inv(amax > 0.0f ? 127.0f / amax : 0.0f), scale(amax / 127.0f) {}
  double dequantized(float x) const {
    const float t = std::min(std::max(x * inv, -127.0f), 127.0f);
    return static_cast<double>(std::nearbyint(t)) * static_cast<double>(scale);
  }
};

// The int8 outlier features of a list (LayerSpec::int8_outliers).
struct Features {
  std::vector<int> list;
  bool has(int k) const { return std::find(list.begin(), list.end(), k) != list.end(); }
};

// A weight matrix's `count` elements as the layer holds them: the caller's `source` type
// widened, rounded to the layer's weight type `held` (as packing rounds) and widened again, so
// the reference computes with exactly the layer's dequantized weights. int8 is quantized per
// output channel (`out` channels of `in` weights each, stored as `layout` says), the outlier
// features apart (held in f16, outside the channel's amax).
std::vector<float> dequantized(const void* w, std::size_t count, ElementType source,
                               ElementType held, WeightLayout layout, int in, int out,
                               const Features& outliers) {
  using namespace edgeattn::kernels;
  std::vector<float> r(count);
  bool overflow = false;
  for (std::size_t i = 0; i < count; ++i) {
    float x = source == ElementType::f16    ? f16_to_f32(static_cast<const std::uint16_t*>(w)[i])
              : source == ElementType::bf16 ? bf16_to_f32(static_cast<const std::uint16_t*>(w)[i])
                                            : static_cast<const float*>(w)[i];
    if (held == ElementType::f16) x = f16_to_f32(f32_to_f16(x, &overflow));
    if (held == ElementType::bf16) x = bf16_to_f32(f32_to_bf16(x, &overflow));
    r[i] = x;
  }
  if (held == ElementType::int8) {
    auto index = [&](int n, int k) {
      return layout == WeightLayout::out_in ? static_cast<std::size_t>(n) * in + k
                                            : static_cast<std::size_t>(k) * out + n;
    };
    for (int n = 0; n < out; ++n) {
      float amax = 0.0f;
      for (int k = 0; k < in; ++k)
        if (!outliers.has(k)) amax = std::max(amax, std::fabs(r[index(n, k)]));
      const Int8Rule rule(amax);
      for (int k = 0; k < in; ++k)
        r[index(n, k)] = outliers.has(k) ? f16_to_f32(f32_to_f16(r[index(n, k)], &overflow))
                                         : static_cast<float>(rule.dequantized(r[index(n, k)]));
    }
  }
  return r;
}

// A row of a projection's input as the layer's int8 kernels see it: quantized in blocks of 32
// inputs (a scale each, the documented block size), the outlier features kept as they are.
constexpr int kInt8Block = 32;
std::vector<double> quantized_row(const std::vector<float>& x, const Features& outliers) {
  const int K = static_cast<int>(x.size());
  std::vector<double> r(x.size());
  for (int k0 = 0; k0 < K; k0 += kInt8Block) {
    const int k1 = std::min(K, k0 + kInt8Block);
    float amax = 0.0f;
    for (int k = k0; k < k1; ++k)
      if (!outliers.has(k)) amax = std::max(amax, std::fabs(x[k]));
    const Int8Rule rule(amax);
    for (int k = k0; k < k1; ++k) r[k] = outliers.has(k) ? x[k] : rule.dequantized(x[k]);
  }
  return r;
}

// Element (token l of batch b, feature f) of a [.., len, width] tensor in `layout`.
double at(const float* x, SequenceLayout layout, int batch, int len, int width, int b, int l,
          int f) {
  std::size_t index;
  if (layout == SequenceLayout::seq_first)
    index = (static_cast<std::size_t>(l) * batch + b) * width + f;
  else
    index = (static_cast<std::size_t>(b) * len + l) * width + f;
  return x[index];
}

// W(out=n, in=k) in either layout.
double weight(const float* w, WeightLayout layout, int in, int out, int n, int k) {
  return layout == WeightLayout::out_in ? w[static_cast<std::size_t>(n) * in + k]
                                        : w[static_cast<std::size_t>(k) * out + n];
}

// y[l][n] = sum_k x(l, k) W(n, k) + bias[n], for the tokens of batch b; with int8 weights
// each row of x is quantized first.
std::vector<std::vector<double>> project(const float* x, SequenceLayout layout, int batch, int len,
                                         int in, int b, const float* w, WeightLayout wl, int out,
                                         const float* bias, bool int8, const Features& outliers) {
  std::vector<std::vector<double>> y(len, std::vector<double>(out, 0.0));
  for (int l = 0; l < len; ++l) {
    std::vector<float> row(in);
    for (int k = 0; k < in; ++k)
      row[k] = static_cast<float>(at(x, layout, batch, len, in, b, l, k));
    std::vector<double> xs(row.begin(), row.end());
    if (int8) xs = quantized_row(row, outliers);
    for (int n = 0; n < out; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < in; ++k) s += xs[k] * weight(w, wl, in, out, n, k);
      y[l][n] = s;
    }
  }
  return y;
}

bool blocked(const void* data, std::size_t index, BoolMaskSense sense) {
  const bool v = static_cast<const std::uint8_t*>(data)[index] != 0;
  return sense == BoolMaskSense::blocks_if_true ? v : !v;
}

}  // namespace

Result multi_head_attention(const LayerSpec& spec, const RunArgs& a) {
  const int E = spec.embed_dim, H = spec.num_heads;
  const int G = spec.num_kv_heads ? spec.num_kv_heads : H;
  const int hd = E / H;
  const int kdim = spec.kdim ? spec.kdim : E, vdim = spec.vdim ? spec.vdim : E;
  const int B = a.shape.batch, Lq = a.shape.q_len;
  const int Lkv = a.shape.kv_len ? a.shape.kv_len : Lq;
  const bool bias_kv = spec.weights.bias_k != nullptr;
  const int S = Lkv + (bias_kv ? 1 : 0);
  const double scale = spec.scale ? *spec.scale : 1.0 / std::sqrt(static_cast<double>(hd));
  const float* key = a.key ? a.key : a.query;
  const float* value = a.value ? a.value : a.query;
  const Weights& w = spec.weights;
  const double inf = std::numeric_limits<double>::infinity();
  const WeightLayout wl = spec.weight_layout;
  const ElementType held = spec.weight_type;
  const bool int8 = held == ElementType::int8;
  const Int8Outliers& o = spec.int8_outliers;
  const Features in_f{std::vector<int>(o.inputs, o.inputs + o.inputs_count)},
      head_f{std::vector<int>(o.heads, o.heads + o.heads_count)};
  const std::vector<float> wq = dequantized(w.q, std::size_t(E) * E, w.element_type, held, wl, E, E,
                                            in_f),
                           wk = dequantized(w.k, std::size_t(G) * hd * kdim, w.element_type, held,
                                            wl, kdim, G * hd, in_f),
                           wv = dequantized(w.v, std::size_t(G) * hd * vdim, w.element_type, held,
                                            wl, vdim, G * hd, in_f),
                           wo = dequantized(w.out, std::size_t(E) * E, w.element_type, held, wl, E,
                                            E, head_f);

  Result r;
  r.output.assign(static_cast<std::size_t>(B) * Lq * E, 0.0);
  r.weights_avg.assign(static_cast<std::size_t>(B) * Lq * S, 0.0);
  r.weights_head.assign(static_cast<std::size_t>(B) * H * Lq * S, 0.0);
  for (int b = 0; b < B; ++b) {
    auto Q = project(a.query, a.layout, B, Lq, E, b, wq.data(), wl, E, w.q_bias, int8, in_f);
    auto K = project(key, a.layout, B, Lkv, kdim, b, wk.data(), wl, G * hd, w.k_bias, int8, in_f);
    auto V = project(value, a.layout, B, Lkv, vdim, b, wv.data(), wl, G * hd, w.v_bias, int8, in_f);
    if (bias_kv) {
      K.emplace_back(w.bias_k, w.bias_k + G * hd);
      V.emplace_back(w.bias_v, w.bias_v + G * hd);
    }
    std::vector<std::vector<double>> concat(Lq, std::vector<double>(E, 0.0));
    for (int h = 0; h < H; ++h) {
      const int g = h / (H / G);
      for (int i = 0; i < Lq; ++i) {
        std::vector<double> s(S);
        for (int j = 0; j < S; ++j) {
          double dot = 0.0;
          for (int d = 0; d < hd; ++d) dot += Q[i][h * hd + d] * K[j][g * hd + d];
          s[j] = dot * scale;
          if (j >= Lkv) continue;  // the bias_k position is never masked
          const std::size_t plane = static_cast<std::size_t>(Lq) * Lkv;
          const std::size_t mi =
              (a.attn_mask.rank == 3 ? (static_cast<std::size_t>(b) * H + h) * plane : 0) +
              static_cast<std::size_t>(i) * Lkv + j;
          if (a.attn_mask.type == MaskType::additive)
            s[j] += static_cast<const float*>(a.attn_mask.data)[mi];
          if (a.attn_mask.type == MaskType::boolean &&
              blocked(a.attn_mask.data, mi, a.attn_mask.sense))
            s[j] = -inf;
          const std::size_t ki = static_cast<std::size_t>(b) * Lkv + j;
          const KeyPaddingMask& kp = a.key_padding_mask;
          if (kp.type == MaskType::additive) s[j] += static_cast<const float*>(kp.data)[ki];
          if (kp.type == MaskType::boolean && blocked(kp.data, ki, kp.sense)) s[j] = -inf;
          if (a.causal && j > i) s[j] = -inf;
        }
        double mx = -inf;
        for (double v : s) mx = std::max(mx, v);
        std::vector<double> p(S, 0.0);
        if (mx != -inf) {  // a fully masked row keeps p = 0 and gives a zero output row
          double sum = 0.0;
          for (int j = 0; j < S; ++j) sum += (p[j] = std::exp(s[j] - mx));
          for (double& v : p) v /= sum;
        }
        for (int j = 0; j < S; ++j) {
          r.weights_head[((static_cast<std::size_t>(b) * H + h) * Lq + i) * S + j] = p[j];
          r.weights_avg[(static_cast<std::size_t>(b) * Lq + i) * S + j] += p[j] / H;
          for (int d = 0; d < hd; ++d) concat[i][h * hd + d] += p[j] * V[j][g * hd + d];
        }
      }
    }
    if (int8) {  // the layer quantizes its fp32 concatenation
      double wo_max = 0.0;
      for (float x : wo) wo_max = std::max(wo_max, std::fabs(static_cast<double>(x)));
      for (auto& row : concat) {
        double amax = 0.0;  // bounds every block's
        for (int k = 0; k < E; ++k)
          if (!head_f.has(k)) amax = std::max(amax, std::fabs(row[k]));
        r.int8_step_effect = std::max(r.int8_step_effect, amax / 127.0 * wo_max);
        row = quantized_row(std::vector<float>(row.begin(), row.end()), head_f);
      }
    }
    for (int i = 0; i < Lq; ++i)
      for (int n = 0; n < E; ++n) {
        double y = w.out_bias ? w.out_bias[n] : 0.0;
        for (int k = 0; k < E; ++k)
          y += concat[i][k] * weight(wo.data(), spec.weight_layout, E, E, n, k);
        const std::size_t index = a.layout == SequenceLayout::seq_first
                                      ? (static_cast<std::size_t>(i) * B + b) * E + n
                                      : (static_cast<std::size_t>(b) * Lq + i) * E + n;
        r.output[index] = y;
      }
  }
  return r;
}

}  // namespace edgeattn::reference
