#include "core_case.hpp"

#include <random>
#include <sstream>

namespace edgeattn::test {

CoreCase make_core_case(const std::function<int(int, int)>& pick, std::uint32_t seed,
                        CoreSizes sizes) {
  // wide: a quarter of the draws each take a length past a second key tile (every port's TK is
  // at most 128), a query length past a query tile, or a specialised head width.
  const bool wide = sizes == CoreSizes::wide;
  auto length = [&](int lo, int hi, int wide_lo, int wide_hi) {
    return wide && pick(0, 3) == 0 ? pick(wide_lo, wide_hi) : pick(lo, hi);
  };
  static constexpr int kSpecialHeadDims[] = {32, 64, 80, 96, 128};
  CoreCase c;
  AttentionArgs& a = c.args;
  a.layout = pick(0, 1) ? AttentionLayout::bsd : AttentionLayout::bhsd;
  a.batch = pick(1, 2);
  a.kv_heads = pick(1, 3);
  a.q_heads = a.kv_heads * pick(1, 3);
  a.q_len = length(1, 9, 10, 70);
  a.kv_len = length(0, 9, 257, 300);
  a.past_len = pick(0, 1) ? length(0, 9, 10, 40) : 0;
  if (a.kv_len + a.past_len == 0) a.kv_len = 1;
  if (wide && pick(0, 3) == 0) {
    a.head_dim = kSpecialHeadDims[pick(0, 4)];
    a.v_head_dim = pick(0, 1) ? 0 : pick(1, 9);  // 0: V as wide, the specialised tile
  } else {
    a.head_dim = pick(1, 9);
    a.v_head_dim = pick(0, 9);
  }
  const int T = a.kv_len + a.past_len, Dv = a.v_head_dim ? a.v_head_dim : a.head_dim;
  const std::size_t B = a.batch, Hq = a.q_heads, G = a.kv_heads;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  auto fill = [&](std::size_t n) {
    std::vector<float> x(n);
    for (float& f : x) f = d(rng);
    return x;
  };
  c.q = fill(B * Hq * a.q_len * a.head_dim);
  c.k = fill(B * G * a.kv_len * a.head_dim);
  c.v = fill(B * G * a.kv_len * Dv);
  a.q = c.q.data();
  a.k = c.k.empty() ? nullptr : c.k.data();
  a.v = c.v.empty() ? nullptr : c.v.data();
  if (a.past_len) {
    c.past_key = fill(B * G * a.past_len * a.head_dim);
    c.past_value = fill(B * G * a.past_len * Dv);
    a.past_key = c.past_key.data();
    a.past_value = c.past_value.data();
  }
  const int mask_kind = pick(0, 2);
  if (mask_kind) {
    a.mask.rank = pick(2, 4);
    int dims4[4] = {pick(0, 1) ? a.batch : 1, pick(0, 1) ? a.q_heads : 1, pick(0, 1) ? a.q_len : 1,
                    pick(1, T)};
    std::size_t n = 1;
    for (int i = 0; i < a.mask.rank; ++i) {
      a.mask.dims[i] = dims4[4 - a.mask.rank + i];
      n *= static_cast<std::size_t>(a.mask.dims[i]);
    }
    if (mask_kind == 1) {
      a.mask.type = MaskType::additive;
      c.mask_f = fill(n);
      for (float& f : c.mask_f)
        if (pick(0, 5) == 0) f = -std::numeric_limits<float>::infinity();
      a.mask.data = c.mask_f.data();
    } else {
      a.mask.type = MaskType::boolean;
      a.mask.sense = pick(0, 1) ? BoolMaskSense::attends_if_true : BoolMaskSense::blocks_if_true;
      c.mask_b.resize(n);
      for (auto& f : c.mask_b) f = static_cast<std::uint8_t>(pick(0, 3) != 0);
      a.mask.data = c.mask_b.data();
    }
  }
  if (a.past_len == 0 && pick(0, 2) == 0) {
    c.nonpad.resize(B);
    for (auto& n : c.nonpad) n = pick(0, T);
    a.nonpad_kv_seqlen = c.nonpad.data();
  }
  a.causal = pick(0, 1);
  if (pick(0, 2) == 0) a.scale = static_cast<float>(pick(1, 16)) / 8.0f;
  if (pick(0, 2) == 0) a.softcap = static_cast<float>(pick(1, 8)) / 2.0f;
  c.y.assign(B * Hq * a.q_len * Dv, -9.0f);
  a.y = c.y.data();
  if (pick(0, 1)) {
    c.present_key.resize(B * G * T * a.head_dim);
    c.present_value.resize(B * G * T * Dv);
    a.present_key = c.present_key.data();
    a.present_value = c.present_value.data();
  }
  if (pick(0, 1)) {
    c.qk.resize(B * Hq * a.q_len * T);
    a.qk_out = c.qk.data();
    a.qk_mode = static_cast<QkOutputMode>(pick(0, 3));
  }
  return c;
}

std::string CoreCase::describe() const {
  const AttentionArgs& a = args;
  std::ostringstream s;
  s << (a.layout == AttentionLayout::bsd ? "3-D" : "4-D") << " B=" << a.batch << " Hq=" << a.q_heads
    << " G=" << a.kv_heads << " Lq=" << a.q_len << " Lkv=" << a.kv_len << " past=" << a.past_len
    << " D=" << a.head_dim << " Dv=" << a.v_head_dim << " mask=" << static_cast<int>(a.mask.type)
    << "/rank" << a.mask.rank << "[" << a.mask.dims[0] << "," << a.mask.dims[1] << ","
    << a.mask.dims[2] << "," << a.mask.dims[3] << "]"
    << (a.mask.sense == BoolMaskSense::attends_if_true ? " attends" : " blocks")
    << " nonpad=" << (a.nonpad_kv_seqlen ? "yes" : "no") << " causal=" << a.causal
    << " scale=" << (a.scale ? *a.scale : 0.0f) << " softcap=" << a.softcap
    << " present=" << (a.present_key != nullptr)
    << " qk=" << (a.qk_out ? static_cast<int>(a.qk_mode) : -1);
  return s.str();
}

}  // namespace edgeattn::test
