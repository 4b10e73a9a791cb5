#include "reference_core.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace edgeattn::reference {

CoreResult attention_core(const AttentionArgs& a) {
  const int B = a.batch, Hq = a.q_heads, G = a.kv_heads ? a.kv_heads : a.q_heads, Lq = a.q_len,
            Lkv = a.kv_len, Lp = a.past_len, T = Lp + Lkv, D = a.head_dim,
            Dv = a.v_head_dim ? a.v_head_dim : a.head_dim;
  const bool bhsd = a.layout == AttentionLayout::bhsd;
  const double scale = a.scale ? *a.scale : 1.0 / std::sqrt(static_cast<double>(D));
  const double inf = std::numeric_limits<double>::infinity();
  auto at = [&](const float* x, int heads, int len, int width, int b, int h, int j,
                int d) -> double {
    return bhsd ? x[((static_cast<std::size_t>(b) * heads + h) * len + j) * width + d]
                : x[(static_cast<std::size_t>(b) * len + j) * heads * width +
                    static_cast<std::size_t>(h) * width + d];
  };
  auto key = [&](int b, int g, int j, int d) -> double {
    return j < Lp ? a.past_key[((static_cast<std::size_t>(b) * G + g) * Lp + j) * D + d]
                  : at(a.k, G, Lkv, D, b, g, j - Lp, d);
  };
  auto value = [&](int b, int g, int j, int d) -> double {
    return j < Lp ? a.past_value[((static_cast<std::size_t>(b) * G + g) * Lp + j) * Dv + d]
                  : at(a.v, G, Lkv, Dv, b, g, j - Lp, d);
  };
  // The mask's dimensions padded to [B, H, L, M]; a dimension of 1 broadcasts.
  int md[4] = {1, 1, 1, 1};
  if (a.mask.type != MaskType::none)
    for (int i = 0; i < a.mask.rank; ++i) md[4 - a.mask.rank + i] = a.mask.dims[i];

  CoreResult r;
  r.y.assign(static_cast<std::size_t>(B) * Hq * Lq * Dv, 0.0);
  r.qk.assign(static_cast<std::size_t>(B) * Hq * Lq * T, 0.0);
  r.present_key.resize(static_cast<std::size_t>(B) * G * T * D);
  r.present_value.resize(static_cast<std::size_t>(B) * G * T * Dv);
  for (int b = 0; b < B; ++b)
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < T; ++j) {
        for (int d = 0; d < D; ++d)
          r.present_key[((static_cast<std::size_t>(b) * G + g) * T + j) * D + d] = key(b, g, j, d);
        for (int d = 0; d < Dv; ++d)
          r.present_value[((static_cast<std::size_t>(b) * G + g) * T + j) * Dv + d] =
              value(b, g, j, d);
      }
  std::vector<double> s(T), p(T);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < Hq; ++h) {
      const int g = h / (Hq / G);
      for (int i = 0; i < Lq; ++i) {
        double* qk = &r.qk[((static_cast<std::size_t>(b) * Hq + h) * Lq + i) * T];
        for (int j = 0; j < T; ++j) {
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += at(a.q, Hq, Lq, D, b, h, i, d) * key(b, g, j, d);
          s[j] = dot * scale;
        }
        if (a.qk_mode == QkOutputMode::scaled) std::copy(s.begin(), s.end(), qk);
        if (a.softcap > 0.0f)
          for (double& x : s) x = a.softcap * std::tanh(x / a.softcap);
        if (a.qk_mode == QkOutputMode::softcapped) std::copy(s.begin(), s.end(), qk);
        const long long valid = a.nonpad_kv_seqlen ? a.nonpad_kv_seqlen[b] : T;
        const long long offset = a.nonpad_kv_seqlen ? valid - Lq : Lp;
        for (int j = 0; j < T; ++j) {
          bool blocked = j >= valid || (a.causal && j > i + offset);
          if (a.mask.type != MaskType::none) {
            if (j >= md[3]) {
              blocked = true;
            } else {
              const std::size_t idx =
                  ((static_cast<std::size_t>(md[0] == 1 ? 0 : b) * md[1] + (md[1] == 1 ? 0 : h)) *
                       md[2] +
                   (md[2] == 1 ? 0 : i)) *
                      md[3] +
                  j;
              if (a.mask.type == MaskType::additive) {
                s[j] += static_cast<const float*>(a.mask.data)[idx];
              } else {
                const bool flag = static_cast<const std::uint8_t*>(a.mask.data)[idx] != 0;
                if (flag != (a.mask.sense == BoolMaskSense::attends_if_true)) blocked = true;
              }
            }
          }
          if (blocked) s[j] = -inf;
        }
        if (a.qk_mode == QkOutputMode::masked) std::copy(s.begin(), s.end(), qk);
        double mx = -inf;
        for (double x : s) mx = std::max(mx, x);
        double sum = 0.0;
        for (int j = 0; j < T; ++j) sum += (p[j] = mx == -inf ? 0.0 : std::exp(s[j] - mx));
        for (int j = 0; j < T; ++j) p[j] = sum > 0.0 ? p[j] / sum : 0.0;
        if (a.qk_mode == QkOutputMode::softmax) std::copy(p.begin(), p.end(), qk);
        for (int d = 0; d < Dv; ++d) {
          double acc = 0.0;
          for (int j = 0; j < T; ++j) acc += p[j] * value(b, g, j, d);
          const std::size_t out = bhsd ? ((static_cast<std::size_t>(b) * Hq + h) * Lq + i) * Dv + d
                                       : (static_cast<std::size_t>(b) * Lq + i) * Hq * Dv +
                                             static_cast<std::size_t>(h) * Dv + d;
          r.y[out] = acc;
        }
      }
    }
  return r;
}

}  // namespace edgeattn::reference
