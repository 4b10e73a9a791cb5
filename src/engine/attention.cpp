#include "engine/attention.hpp"

#include <algorithm>
#include <cstddef>

#include "executor.hpp"
#include "port_registry.hpp"

namespace edgeattn::engine {
namespace {

// In 64 bits: planning meets sizes near INT_MAX before it rejects them.
int ceil_div(int a, int b) { return static_cast<int>((static_cast<long long>(a) + b - 1) / b); }
int chunk_count(const AttentionDims& d, int keys) {
  return ceil_div(keys, decode_chunk_keys(d.kv_type));
}

struct StageContext {
  StageContext(const AttentionPlan& plan, int keys_, const HeadSources& sources,
               const MaskSource& masks, float* workspace)
      : p(&plan), keys(keys_), s(&sources), m(&masks), ws(workspace) {}
  const AttentionPlan* p = nullptr;
  int keys = 0;
  int chunks = 0;  // split_kv
  const HeadSources* s = nullptr;
  const MaskSource* m = nullptr;
  float* ws = nullptr;
  int mode = 0;  // scores: the qk_matmul_output step
  bool averaged = false;
  float* rows_out = nullptr;  // weights or scores

  float* slot(int s_) const {
    return ws + p->slot0 + static_cast<std::size_t>(s_) * p->slot_stride;
  }
};

void tile_task(void* c, std::size_t t, int slot) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  const AttentionDims& d = x.p->d;
  const int qt = static_cast<int>(t % x.p->q_tiles);
  t /= x.p->q_tiles;
  const int h = static_cast<int>(t % d.q_heads), b = static_cast<int>(t / d.q_heads);
  const int tq = x.p->kernels->attn_tq, i0 = qt * tq;
  x.p->tile(head_view(d, x.keys, *x.s, b, h), mask_view(d, *x.m, b, h), i0,
            std::min(tq, d.q_len - i0), x.slot(slot));
}

float* state_of(const StageContext& x, std::size_t bh, int chunk) {
  return x.ws + x.p->states +
         (bh * x.chunks + chunk) * (2 + static_cast<std::size_t>(x.p->d.v_dim));
}

void partial_task(void* c, std::size_t t, int slot) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  const AttentionDims& d = x.p->d;
  const int chunk = static_cast<int>(t % x.chunks);
  const std::size_t bh = t / x.chunks;
  const int h = static_cast<int>(bh % d.q_heads), b = static_cast<int>(bh / d.q_heads);
  const int chunk_keys = decode_chunk_keys(d.kv_type);
  const int j0 = chunk * chunk_keys, j1 = std::min(x.keys, j0 + chunk_keys);
  x.p->kernels->attend_row_partial[kernels::kv_kernel_index(d.kv_type)](
      head_view(d, x.keys, *x.s, b, h), mask_view(d, *x.m, b, h), 0, j0, j1, x.slot(slot),
      state_of(x, bh, chunk));
}

void merge_task(void* c, std::size_t t, int /*slot*/) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  const AttentionDims& d = x.p->d;
  const int h = static_cast<int>(t % d.q_heads), b = static_cast<int>(t / d.q_heads);
  kernels::merge_partials(state_of(x, t, 0), x.chunks, d.v_dim,
                          x.s->out + b * x.s->out_batch + h * x.s->out_head);
}

// Weights: one task per (batch, query tile) loops over heads in a fixed order.
void weights_task(void* c, std::size_t t, int slot) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  const AttentionDims& d = x.p->d;
  const int qt = static_cast<int>(t % x.p->q_tiles), b = static_cast<int>(t / x.p->q_tiles);
  const int H = d.q_heads;
  const std::size_t n = static_cast<std::size_t>(x.keys);
  float* prob = x.slot(slot);
  const int tq = x.p->kernels->attn_tq;
  const int i0 = qt * tq, i1 = std::min(d.q_len, i0 + tq);
  for (int h = 0; h < H; ++h) {
    const kernels::HeadView hv = head_view(d, x.keys, *x.s, b, h);
    const kernels::MaskView mv = mask_view(d, *x.m, b, h);
    for (int i = i0; i < i1; ++i) {
      if (!x.averaged) {
        kernels::attend_row_with_weights(
            hv, mv, i, x.rows_out + ((static_cast<std::size_t>(b) * H + h) * d.q_len + i) * n);
        continue;
      }
      float* dst = x.rows_out + (static_cast<std::size_t>(b) * d.q_len + i) * n;
      kernels::attend_row_with_weights(hv, mv, i, prob);
      if (h == 0) {
        std::copy(prob, prob + n, dst);
      } else {
        for (std::size_t j = 0; j < n; ++j) dst[j] += prob[j];
      }
      if (h == H - 1) {
        const float inv = 1.0f / static_cast<float>(H);
        for (std::size_t j = 0; j < n; ++j) dst[j] *= inv;
      }
    }
  }
}

// Scores: one task per (batch, head, query tile), a row at a time.
void scores_task(void* c, std::size_t t, int slot) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  const AttentionDims& d = x.p->d;
  const int qt = static_cast<int>(t % x.p->q_tiles);
  t /= x.p->q_tiles;
  const int h = static_cast<int>(t % d.q_heads), b = static_cast<int>(t / d.q_heads);
  const int tq = x.p->kernels->attn_tq;
  const int i0 = qt * tq, i1 = std::min(d.q_len, i0 + tq);
  const kernels::HeadView hv = head_view(d, x.keys, *x.s, b, h);
  const kernels::MaskView mv = mask_view(d, *x.m, b, h);
  for (int i = i0; i < i1; ++i)
    kernels::attend_row_with_weights(
        hv, mv, i, x.slot(slot), x.mode,
        x.rows_out + ((static_cast<std::size_t>(b) * d.q_heads + h) * d.q_len + i) * x.keys);
}

}  // namespace

std::size_t kt_row_floats(const KernelTable& k, std::size_t keys) {
  return round_up(keys, static_cast<std::size_t>(k.kt_pad_keys));
}
std::size_t kt_row_floats_any_port(std::size_t keys) {
  return round_up(keys, static_cast<std::size_t>(registry::kt_pad_keys_all()));
}
std::size_t v_slack_floats(const KernelTable& k) {
  return static_cast<std::size_t>(k.v_slack_floats);
}
std::size_t v_slack_floats_any_port() {
  return static_cast<std::size_t>(registry::v_slack_floats_all());
}

void plan_attention(const AttentionDims& d, const KernelTable& k, AttendPath path, int threads,
                    bool also_tiles, WorkspaceLayout* layout, AttentionPlan* p) {
  p->d = d;
  p->kernels = &k;
  p->path = path;
  p->tile = k.attend_tile_for(d.head_dim, d.v_dim, d.kv_type);
  p->q_tiles = ceil_div(d.q_len, k.attn_tq);
  const std::size_t tile = k.attend_scratch_floats(d.v_dim);
  std::size_t per_slot = 0;
  switch (path) {
    case AttendPath::tiles:
      per_slot = tile;
      break;
    case AttendPath::rows:
      per_slot = std::max<std::size_t>(static_cast<std::size_t>(d.keys), also_tiles ? tile : 0);
      break;
    case AttendPath::split_kv:
      p->states =
          layout->region("split-KV states",
                         {static_cast<std::size_t>(d.batch), static_cast<std::size_t>(d.q_heads),
                          static_cast<std::size_t>(chunk_count(d, d.keys)),
                          2 + static_cast<std::size_t>(d.v_dim)});
      per_slot = static_cast<std::size_t>(decode_chunk_keys(d.kv_type));
      break;
  }
  p->slot0 = layout->slots("scratch", per_slot, std::max(1, threads), &p->slot_stride);
}

kernels::HeadView head_view(const AttentionDims& d, int keys, const HeadSources& s, int b, int h) {
  const int g = h / (d.q_heads / d.kv_heads);
  const std::ptrdiff_t bg_kt = b * s.kt_batch + g * s.kt_head, bg_v = b * s.v_batch + g * s.v_head;
  const auto elem =  // bytes of a Kᵀ/V element
      static_cast<std::ptrdiff_t>(element_size(static_cast<ElementType>(d.kv_type)));
  kernels::HeadView v;
  v.q = s.q + b * s.q_batch + h * s.q_head;
  v.kt = static_cast<const unsigned char*>(s.kt) + bg_kt * elem;
  v.v = static_cast<const unsigned char*>(s.v) + bg_v * elem;
  if (s.k_scale) {
    const std::ptrdiff_t bg_scale = b * s.scale_batch + g * s.scale_head;
    v.k_scale = s.k_scale + bg_scale;
    v.v_scale = s.v_scale + bg_scale;
  }
  v.kv_ld = s.kv_ld;
  v.kv_total = keys;
  v.head_dim = d.head_dim;
  v.v_dim = d.v_dim;
  v.out = s.out + b * s.out_batch + h * s.out_head;
  v.out_ld = s.out_row;
  return v;
}

kernels::MaskView mask_view(const AttentionDims& d, const MaskSource& m, int b, int h) {
  kernels::MaskView v = m.common;
  const std::ptrdiff_t attn = b * m.attn_batch + h * m.attn_head;
  if (v.attn_add) v.attn_add += attn;
  if (v.attn_bool) v.attn_bool += attn;
  if (v.kpm_add) v.kpm_add += b * m.kpm_batch;
  if (v.kpm_bool) v.kpm_bool += b * m.kpm_batch;
  if (m.valid_keys) {
    v.valid_keys = static_cast<int>(m.valid_keys[b]);
    if (m.valid_keys_shift_causal) v.causal_offset = v.valid_keys - d.q_len;
  }
  return v;
}

void attend(const AttentionPlan& p, int keys, const HeadSources& s, const MaskSource& m, float* ws,
            const Executor& exec) {
  StageContext x(p, keys, s, m, ws);
  const std::size_t heads = static_cast<std::size_t>(p.d.batch) * p.d.q_heads;
  if (p.path == AttendPath::split_kv) {
    x.chunks = chunk_count(p.d, keys);
    parallel_for(exec, heads * x.chunks, partial_task, &x);
    parallel_for(exec, heads, merge_task, &x);
    return;
  }
  parallel_for(exec, heads * p.q_tiles, tile_task, &x);
}

void attend_with_weights(const AttentionPlan& p, const HeadSources& s, const MaskSource& m,
                         bool averaged, float* weights, float* ws, const Executor& exec) {
  StageContext x(p, p.d.keys, s, m, ws);
  x.averaged = averaged;
  x.rows_out = weights;
  parallel_for(exec, static_cast<std::size_t>(p.d.batch) * p.q_tiles, weights_task, &x);
}

void attend_with_scores(const AttentionPlan& p, const HeadSources& s, const MaskSource& m, int mode,
                        float* scores, float* ws, const Executor& exec) {
  StageContext x(p, p.d.keys, s, m, ws);
  x.mode = mode;
  x.rows_out = scores;
  parallel_for(exec, static_cast<std::size_t>(p.d.batch) * p.d.q_heads * p.q_tiles, scores_task,
               &x);
}

}  // namespace edgeattn::engine
