#include "reference.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/convert.hpp"

namespace edgeattn::reference {
namespace {

// A weight matrix's `count` elements as the layer holds them: the caller's `source` type
// widened, rounded to the layer's weight type `held` (as packing rounds) and widened again, so
// the reference computes with exactly the layer's dequantized weights.
std::vector<float> dequantized(const void* w, std::size_t count, ElementType source,
                               ElementType held) {
  using namespace edgeattn::kernels;
  std::vector<float> out(count);
  bool overflow = false;
  for (std::size_t i = 0; i < count; ++i) {
    float x = source == ElementType::f16    ? f16_to_f32(static_cast<const std::uint16_t*>(w)[i])
              : source == ElementType::bf16 ? bf16_to_f32(static_cast<const std::uint16_t*>(w)[i])
                                            : static_cast<const float*>(w)[i];
    if (held == ElementType::f16) x = f16_to_f32(f32_to_f16(x, &overflow));
    if (held == ElementType::bf16) x = bf16_to_f32(f32_to_bf16(x, &overflow));
    out[i] = x;
  }
  return out;
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

// y[l][n] = sum_k x(l, k) W(n, k) + bias[n], for the tokens of batch b.
std::vector<std::vector<double>> project(const float* x, SequenceLayout layout, int batch, int len,
                                         int in, int b, const float* w, WeightLayout wl, int out,
                                         const float* bias) {
  std::vector<std::vector<double>> y(len, std::vector<double>(out, 0.0));
  for (int l = 0; l < len; ++l)
    for (int n = 0; n < out; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < in; ++k)
        s += at(x, layout, batch, len, in, b, l, k) * weight(w, wl, in, out, n, k);
      y[l][n] = s;
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
  const std::vector<float> wq = dequantized(w.q, std::size_t(E) * E, w.element_type,
                                            spec.weight_type),
                           wk = dequantized(w.k, std::size_t(G) * hd * kdim, w.element_type,
                                            spec.weight_type),
                           wv = dequantized(w.v, std::size_t(G) * hd * vdim, w.element_type,
                                            spec.weight_type),
                           wo = dequantized(w.out, std::size_t(E) * E, w.element_type,
                                            spec.weight_type);

  Result r;
  r.output.assign(static_cast<std::size_t>(B) * Lq * E, 0.0);
  r.weights_avg.assign(static_cast<std::size_t>(B) * Lq * S, 0.0);
  r.weights_head.assign(static_cast<std::size_t>(B) * H * Lq * S, 0.0);
  for (int b = 0; b < B; ++b) {
    auto Q = project(a.query, a.layout, B, Lq, E, b, wq.data(), spec.weight_layout, E, w.q_bias);
    auto K =
        project(key, a.layout, B, Lkv, kdim, b, wk.data(), spec.weight_layout, G * hd, w.k_bias);
    auto V =
        project(value, a.layout, B, Lkv, vdim, b, wv.data(), spec.weight_layout, G * hd, w.v_bias);
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
