// One forward pass: validate the arguments, carve the workspace, then three parallel stages
// (Q/K/V projections → attention per (batch, head, query tile) → output projection). Every task
// owns a disjoint piece of output and reduces in a fixed order, so results are bitwise the same
// for any thread count. Nothing here allocates or throws.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "executor.hpp"
#include "kv_cache_impl.hpp"
#include "layer_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {
namespace {

int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Address of token (b, l) of a [.., L, F] tensor in the caller's layout.
struct SeqStrides {
  std::ptrdiff_t batch = 0, token = 0;
};
SeqStrides seq_strides(SequenceLayout layout, int batch, int len, int width) {
  if (layout == SequenceLayout::seq_first)
    return {width, static_cast<std::ptrdiff_t>(batch) * width};
  return {static_cast<std::ptrdiff_t>(len) * width, width};
}

// The output columns of one weight matrix inside a projection: its packed panels, width and
// where its results go.
struct Segment {
  const float* packed = nullptr;
  int N = 0;
  int panels = 0;
  kernels::OutputMap map;             // for batch 0
  std::ptrdiff_t out_batch_step = 0;  // added to map.base per batch
};

// One projection GEMM of the run: the rows of `a` (per batch) times the concatenated panels of
// up to three weight matrices sharing that input. Self-attention puts Q, K and V in one
// projection, so each task reads its rows of X once for all three.
struct Projection {
  const KernelTable* k = nullptr;
  const float* a = nullptr;
  SeqStrides in;
  int rows = 0, K = 0;
  Segment seg[3];
  int segments = 0;
  int row_blocks = 0, panel_blocks = 0;
  int row_block = 0;  // rows per task: the port's maximum, evened out over the row blocks

  void add(const float* packed, int N, const kernels::OutputMap& map, std::ptrdiff_t batch_step) {
    seg[segments++] = {packed, N, 0, map, batch_step};
  }
  void init_grid(const KernelTable* kernels) {
    k = kernels;
    int panels = 0;
    for (int i = 0; i < segments; ++i) panels += (seg[i].panels = ceil_div(seg[i].N, k->gemm_nr));
    // As few row blocks as the port's maximum allows (each task streams its panels of the
    // weights once, so fewer row blocks read the weights fewer times), of equal size, so that
    // no thread is left with a short remainder block.
    row_blocks = ceil_div(rows, k->gemm_row_block);
    row_block = ceil_div(ceil_div(rows, row_blocks), k->gemm_mr) * k->gemm_mr;
    panel_blocks = ceil_div(panels, k->gemm_panel_block);
  }
  std::size_t tasks(int batch) const {
    return static_cast<std::size_t>(batch) * row_blocks * panel_blocks;
  }
  void run_task(std::size_t t) const {
    const int pb = static_cast<int>(t % panel_blocks);
    t /= panel_blocks;
    const int rb = static_cast<int>(t % row_blocks);
    const int b = static_cast<int>(t / row_blocks);
    const int row0 = rb * row_block;
    const int nrows = std::min(row_block, rows - row0);
    // Panels [p0, p1) of the concatenation, cut at segment boundaries.
    int p0 = pb * k->gemm_panel_block, p1 = p0 + k->gemm_panel_block;
    for (int i = 0, first = 0; i < segments && p0 < p1; first += seg[i].panels, ++i) {
      const int lo = std::max(p0, first), hi = std::min(p1, first + seg[i].panels);
      if (lo >= hi) continue;
      kernels::OutputMap m = seg[i].map;
      m.base += b * seg[i].out_batch_step;
      (nrows == 1 ? k->gemm_block_1row : k->gemm_block)(a + b * in.batch, in.token, row0, nrows, K,
                                                         seg[i].packed, lo - first, hi - first,
                                                         seg[i].N, m);
    }
  }
};

struct RunContext {
  const Layer::Impl* L = nullptr;
  const RunArgs* args = nullptr;
  int batch = 0, q_len = 0, kv_len = 0, kv_total = 0;
  float* ws = nullptr;
  WorkspacePlan plan;
  Projection proj[3];  // Q+K+V fused (self-attention), or Q, K, V
  int num_proj = 0;
  Projection out_proj;
  int q_tiles = 0;
  KernelTable::AttendTile attend_tile = nullptr;  // specialised for this head_dim if possible

  kernels::HeadView head_view(int b, int h) const {
    const int H = L->num_heads, G = L->num_kv_heads, hd = L->head_dim;
    const int g = h / (H / G);
    kernels::HeadView v;
    v.q = ws + plan.q + (static_cast<std::size_t>(b) * H + h) * q_len * hd;
    v.kt = ws + plan.kt + (static_cast<std::size_t>(b) * G + g) * hd * plan.kv_ld;
    v.v = ws + plan.v + (static_cast<std::size_t>(b) * G + g) * kv_total * hd;
    v.kv_ld = static_cast<std::ptrdiff_t>(plan.kv_ld);
    v.q_len = q_len;
    v.kv_total = kv_total;
    v.head_dim = hd;
    v.v_dim = hd;
    v.out = ws + plan.concat + static_cast<std::size_t>(b) * q_len * L->embed_dim + h * hd;
    v.out_ld = L->embed_dim;
    return v;
  }

  kernels::MaskView mask_view(int b, int h) const {
    kernels::MaskView m;
    const AttnMask& am = args->attn_mask;
    const std::size_t plane = static_cast<std::size_t>(q_len) * kv_len;
    const std::size_t am_offset =
        am.rank == 3 ? (static_cast<std::size_t>(b) * L->num_heads + h) * plane : 0;
    if (am.type == MaskType::additive) m.attn_add = static_cast<const float*>(am.data) + am_offset;
    if (am.type == MaskType::boolean) {
      m.attn_bool = static_cast<const std::uint8_t*>(am.data) + am_offset;
      m.attn_bool_blocks_if_true = am.sense == BoolMaskSense::blocks_if_true;
    }
    m.mask_ld = kv_len;
    const KeyPaddingMask& kp = args->key_padding_mask;
    const std::size_t kp_offset = static_cast<std::size_t>(b) * kv_len;
    if (kp.type == MaskType::additive) m.kpm_add = static_cast<const float*>(kp.data) + kp_offset;
    if (kp.type == MaskType::boolean) {
      m.kpm_bool = static_cast<const std::uint8_t*>(kp.data) + kp_offset;
      m.kpm_bool_blocks_if_true = kp.sense == BoolMaskSense::blocks_if_true;
    }
    m.causal = args->causal;
    m.kv_len = kv_len;
    return m;
  }
};

void projection_task(void* c, std::size_t t, int /*slot*/) {
  const RunContext& ctx = *static_cast<const RunContext*>(c);
  for (int p = 0; p < ctx.num_proj; ++p) {
    const std::size_t n = ctx.proj[p].tasks(ctx.batch);
    if (t < n) {
      ctx.proj[p].run_task(t);
      return;
    }
    t -= n;
  }
}

void output_task(void* c, std::size_t t, int /*slot*/) {
  static_cast<const RunContext*>(c)->out_proj.run_task(t);
}

// The output projection: the concatenated heads [batch][q_len][E] through Wo (and its bias)
// into the caller's output, in the caller's layout.
void project_output(const Layer::Impl& L, const float* concat, const RunArgs& a, int B, int Lq,
                    const Executor& exec, RunContext* ctx) {
  Projection& po = ctx->out_proj;
  po.a = concat;
  po.in = {static_cast<std::ptrdiff_t>(Lq) * L.embed_dim, L.embed_dim};
  po.rows = Lq;
  po.K = L.embed_dim;
  const SeqStrides out = seq_strides(a.layout, B, Lq, L.embed_dim);
  po.add(L.wo.get(), L.embed_dim, {a.output, out.token, 1, L.embed_dim, 0, L.bo.get(), 1.0f},
         out.batch);
  po.init_grid(L.kernels);
  exec.impl().parallel_for(po.tasks(B), output_task, ctx);
}

void attention_task(void* c, std::size_t t, int slot) {
  const RunContext& ctx = *static_cast<const RunContext*>(c);
  const int qt = static_cast<int>(t % ctx.q_tiles);
  t /= ctx.q_tiles;
  const int h = static_cast<int>(t % ctx.L->num_heads);
  const int b = static_cast<int>(t / ctx.L->num_heads);
  float* scratch = ctx.ws + ctx.plan.scratch + static_cast<std::size_t>(slot) * ctx.plan.scratch_per_slot;
  const int tq = ctx.L->kernels->attn_tq;
  const int i0 = qt * tq;
  ctx.attend_tile(ctx.head_view(b, h), ctx.mask_view(b, h), i0, std::min(tq, ctx.q_len - i0),
                  scratch);
}

// Attention-weights path: one task per (batch, query tile) loops over heads in a fixed order,
// so the head average is summed deterministically.
void attention_weights_task(void* c, std::size_t t, int slot) {
  const RunContext& ctx = *static_cast<const RunContext*>(c);
  const int qt = static_cast<int>(t % ctx.q_tiles);
  const int b = static_cast<int>(t / ctx.q_tiles);
  const int H = ctx.L->num_heads;
  const std::size_t n = static_cast<std::size_t>(ctx.kv_total);
  float* prob = ctx.ws + ctx.plan.scratch + static_cast<std::size_t>(slot) * ctx.plan.scratch_per_slot;
  const bool averaged = ctx.args->attn_weights == AttnWeightsOutput::averaged;
  const int tq = ctx.L->kernels->attn_tq;
  const int i0 = qt * tq, i1 = std::min(ctx.q_len, i0 + tq);
  for (int h = 0; h < H; ++h) {
    const kernels::HeadView hv = ctx.head_view(b, h);
    const kernels::MaskView mv = ctx.mask_view(b, h);
    for (int i = i0; i < i1; ++i) {
      float* dst;
      if (averaged) {
        dst = ctx.args->attn_weights_out + (static_cast<std::size_t>(b) * ctx.q_len + i) * n;
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
      } else {
        dst = ctx.args->attn_weights_out +
              ((static_cast<std::size_t>(b) * H + h) * ctx.q_len + i) * n;
        kernels::attend_row_with_weights(hv, mv, i, dst);
      }
    }
  }
}

// Checked-arena builds: guard words around the workspace regions, armed before the stages and
// verified after them, so a kernel writing past its region is reported, not silent.
constexpr std::uint32_t kGuardWord = 0xE1A7C0DEu;

template <class Fn>
void for_each_guard(const WorkspacePlan& p, Fn fn) {
  for (int g = 0; g < p.num_guards; ++g) fn(p.guards[g], p.guard_after[g], -1);
  if (kCheckedArena)
    for (int s = 0; s < p.slots; ++s)
      fn(p.scratch + (static_cast<std::size_t>(s) + 1) * p.scratch_per_slot - WorkspacePlan::kGuardFloats,
         "scratch slot", s);
}

void arm_guards(float* ws, const WorkspacePlan& p) {
  for_each_guard(p, [&](std::size_t at, const char*, int) {
    auto* w = reinterpret_cast<std::uint32_t*>(ws + at);
    for (std::size_t i = 0; i < WorkspacePlan::kGuardFloats; ++i) w[i] = kGuardWord;
  });
}

Status check_guards(const float* ws, const WorkspacePlan& p) {
  Status st;
  for_each_guard(p, [&](std::size_t at, const char* after, int slot) {
    const auto* w = reinterpret_cast<const std::uint32_t*>(ws + at);
    for (std::size_t i = 0; i < WorkspacePlan::kGuardFloats && st.ok(); ++i)
      if (w[i] != kGuardWord)
        st = slot >= 0 ? Status::error(StatusCode::internal,
                                       "checked arena: guard of scratch slot %d overwritten", slot)
                       : Status::error(StatusCode::internal,
                                       "checked arena: guard after workspace region '%s' overwritten",
                                       after);
  });
  return st;
}

Status validate_mask_type(MaskType t, BoolMaskSense sense, const void* data, const char* what) {
  if (t != MaskType::none && t != MaskType::additive && t != MaskType::boolean)
    return Status::error(StatusCode::invalid_argument, "%s: unknown mask type %d", what,
                         static_cast<int>(t));
  if (t == MaskType::boolean && sense != BoolMaskSense::blocks_if_true &&
      sense != BoolMaskSense::attends_if_true)
    return Status::error(StatusCode::invalid_argument, "%s: unknown boolean mask sense %d",
                         what, static_cast<int>(sense));
  if (t != MaskType::none && !data)
    return Status::error(StatusCode::null_pointer, "%s: data is null", what);
  return Status();
}

}  // namespace

Status Layer::Impl::run(const RunArgs& a, void* workspace, std::size_t workspace_bytes,
                        const Executor& exec) const {
  // ---- validation: every bad input is a status, checked before anything is written ----
  if (a.layout != SequenceLayout::batch_first && a.layout != SequenceLayout::seq_first &&
      a.layout != SequenceLayout::unbatched)
    return Status::error(StatusCode::invalid_argument, "unknown sequence layout %d",
                         static_cast<int>(a.layout));
  const int B = a.shape.batch, Lq = a.shape.q_len;
  const bool self_attention = a.key == nullptr && a.value == nullptr;
  const int Lkv = a.shape.kv_len == 0 ? Lq : a.shape.kv_len;
  if (B <= 0 || Lq <= 0 || Lkv <= 0)
    return Status::error(StatusCode::invalid_argument,
                         "batch, q_len and kv_len must be >= 1, got %d, %d, %d", B, Lq,
                         a.shape.kv_len);
  if (a.layout == SequenceLayout::unbatched && B != 1)
    return Status::error(StatusCode::shape_mismatch, "unbatched input needs batch = 1, got %d",
                         B);
  if (!a.query) return Status::error(StatusCode::null_pointer, "query is null");
  if (!a.output) return Status::error(StatusCode::null_pointer, "output is null");
  if ((a.key == nullptr) != (a.value == nullptr))
    return Status::error(StatusCode::null_pointer,
                         "key and value must both be given (cross-attention) or both be null "
                         "(self-attention)");
  if (self_attention) {
    if (Lkv != Lq)
      return Status::error(StatusCode::shape_mismatch,
                           "self-attention (key/value null) needs kv_len = q_len, got %d vs %d",
                           Lkv, Lq);
    if (kdim != embed_dim || vdim != embed_dim)
      return Status::error(StatusCode::shape_mismatch,
                           "self-attention needs kdim = vdim = embed_dim; this layer has kdim=%d "
                           "vdim=%d embed_dim=%d: pass key and value",
                           kdim, vdim, embed_dim);
  }
  Status st = validate_mask_type(a.attn_mask.type, a.attn_mask.sense, a.attn_mask.data,
                                 "attn_mask");
  if (!st) return st;
  st = validate_mask_type(a.key_padding_mask.type, a.key_padding_mask.sense,
                          a.key_padding_mask.data, "key_padding_mask");
  if (!st) return st;
  if (a.attn_mask.type != MaskType::none) {
    const AttnMask& m = a.attn_mask;
    if (m.rank == 2) {
      if (m.dims[0] != Lq || m.dims[1] != Lkv)
        return Status::error(StatusCode::shape_mismatch,
                             "attn_mask is [%d, %d], expected [q_len=%d, kv_len=%d]", m.dims[0],
                             m.dims[1], Lq, Lkv);
    } else if (m.rank == 3) {
      if (static_cast<long long>(m.dims[0]) != static_cast<long long>(B) * num_heads ||
          m.dims[1] != Lq || m.dims[2] != Lkv)
        return Status::error(StatusCode::shape_mismatch,
                             "attn_mask is [%d, %d, %d], expected [batch*heads=%lld, q_len=%d, "
                             "kv_len=%d]",
                             m.dims[0], m.dims[1], m.dims[2],
                             static_cast<long long>(B) * num_heads, Lq, Lkv);
    } else {
      return Status::error(StatusCode::shape_mismatch, "attn_mask rank must be 2 or 3, got %d",
                           m.rank);
    }
    if (!checked_product({static_cast<std::size_t>(B), static_cast<std::size_t>(num_heads),
                          static_cast<std::size_t>(Lq), static_cast<std::size_t>(Lkv)},
                         nullptr))
      return Status::error(StatusCode::size_overflow, "attn_mask size overflows");
  }
  if (a.key_padding_mask.type != MaskType::none &&
      (a.key_padding_mask.dims[0] != B || a.key_padding_mask.dims[1] != Lkv))
    return Status::error(StatusCode::shape_mismatch,
                         "key_padding_mask is [%d, %d], expected [batch=%d, kv_len=%d]",
                         a.key_padding_mask.dims[0], a.key_padding_mask.dims[1], B, Lkv);
  if (a.attn_weights != AttnWeightsOutput::none && a.attn_weights != AttnWeightsOutput::averaged &&
      a.attn_weights != AttnWeightsOutput::per_head)
    return Status::error(StatusCode::invalid_argument, "unknown attn_weights mode %d",
                         static_cast<int>(a.attn_weights));
  if (a.attn_weights != AttnWeightsOutput::none) {
    if (!a.attn_weights_out)
      return Status::error(StatusCode::null_pointer,
                           "attn_weights requested but attn_weights_out is null");
    if (!checked_product({static_cast<std::size_t>(B), static_cast<std::size_t>(num_heads),
                          static_cast<std::size_t>(Lq), static_cast<std::size_t>(Lkv) + 1},
                         nullptr))
      return Status::error(StatusCode::size_overflow, "attention weights size overflows");
  }
  if (!workspace) return Status::error(StatusCode::null_pointer, "workspace is null");
  if (reinterpret_cast<std::uintptr_t>(workspace) % kWorkspaceAlignment != 0)
    return Status::error(StatusCode::invalid_argument, "workspace must be %zu-byte aligned",
                         kWorkspaceAlignment);
  const Shape shape{B, Lq, Lkv};
  RunContext ctx;
  st = plan(shape, exec.num_threads(), &ctx.plan);
  if (!st) return st;
  if (workspace_bytes < ctx.plan.total_floats * sizeof(float))
    return Status::error(StatusCode::workspace_too_small,
                         "workspace has %zu bytes, this run needs %zu (batch=%d q_len=%d "
                         "kv_len=%d threads=%d)",
                         workspace_bytes, ctx.plan.total_floats * sizeof(float), B, Lq, Lkv,
                         exec.num_threads());

  // ---- execution ----
  arm_guards(static_cast<float*>(workspace), ctx.plan);
  ctx.L = this;
  ctx.args = &a;
  ctx.batch = B;
  ctx.q_len = Lq;
  ctx.kv_len = Lkv;
  ctx.kv_total = Lkv + (has_bias_kv() ? 1 : 0);
  ctx.ws = static_cast<float*>(workspace);
  ctx.q_tiles = ceil_div(Lq, kernels->attn_tq);
  ctx.attend_tile = kernels->attend_tile_for(head_dim, head_dim);
  const int hd = head_dim;
  const std::ptrdiff_t kv_ld = static_cast<std::ptrdiff_t>(ctx.plan.kv_ld);

  const kernels::OutputMap q_map{ctx.ws + ctx.plan.q, hd, 1, hd,
                                 static_cast<std::ptrdiff_t>(Lq) * hd, bq.get(), scale};
  const kernels::OutputMap k_map{ctx.ws + ctx.plan.kt, 1, kv_ld, hd, hd * kv_ld, bk.get(), 1.0f};
  const kernels::OutputMap v_map{ctx.ws + ctx.plan.v, hd, 1, hd,
                                 static_cast<std::ptrdiff_t>(ctx.kv_total) * hd, bv.get(), 1.0f};
  const std::ptrdiff_t q_step = static_cast<std::ptrdiff_t>(Lq) * embed_dim;
  const std::ptrdiff_t k_step = static_cast<std::ptrdiff_t>(kv_width) * kv_ld;
  const std::ptrdiff_t v_step = static_cast<std::ptrdiff_t>(ctx.kv_total) * kv_width;
  auto projection = [&](const float* x, int rows, int width) -> Projection& {
    Projection& p = ctx.proj[ctx.num_proj++];
    p.a = x;
    p.in = seq_strides(a.layout, B, rows, width);
    p.rows = rows;
    p.K = width;
    return p;
  };
  if (self_attention) {  // one GEMM over [Wq | Wk | Wv]
    Projection& p = projection(a.query, Lq, embed_dim);
    p.add(wq, embed_dim, q_map, q_step);
    p.add(wk, kv_width, k_map, k_step);
    p.add(wv, kv_width, v_map, v_step);
  } else {
    projection(a.query, Lq, embed_dim).add(wq, embed_dim, q_map, q_step);
    projection(a.key, Lkv, kdim).add(wk, kv_width, k_map, k_step);
    projection(a.value, Lkv, vdim).add(wv, kv_width, v_map, v_step);
  }
  std::size_t proj_tasks = 0;
  for (int i = 0; i < ctx.num_proj; ++i) {
    ctx.proj[i].init_grid(kernels);
    proj_tasks += ctx.proj[i].tasks(B);
  }
  exec.impl().parallel_for(proj_tasks, projection_task, &ctx);

  if (has_bias_kv()) {  // the appended key/value position at index kv_len of every head
    const int G = num_kv_heads;
    for (int b = 0; b < B; ++b)
      for (int g = 0; g < G; ++g)
        for (int d = 0; d < hd; ++d) {
          const std::size_t bg = static_cast<std::size_t>(b) * G + g;
          ctx.ws[ctx.plan.kt + (bg * hd + d) * ctx.plan.kv_ld + Lkv] = bias_k[g * hd + d];
          ctx.ws[ctx.plan.v + (bg * ctx.kv_total + Lkv) * hd + d] = bias_v[g * hd + d];
        }
  }

  if (a.attn_weights == AttnWeightsOutput::none) {
    exec.impl().parallel_for(static_cast<std::size_t>(B) * num_heads * ctx.q_tiles,
                             attention_task, &ctx);
  } else {
    exec.impl().parallel_for(static_cast<std::size_t>(B) * ctx.q_tiles, attention_weights_task,
                             &ctx);
  }

  project_output(*this, ctx.ws + ctx.plan.concat, a, B, Lq, exec, &ctx);
  return check_guards(ctx.ws, ctx.plan);
}

// ---------------------------------------------------------------- decode with a KV cache

Status Layer::Impl::decode_plan(const KvCache& cache, const Shape& shape, int num_threads,
                                DecodePlan* p) const {
  const KvCache::Impl& c = cache.impl();
  if (shape.batch < 1 || shape.q_len < 1)
    return Status::error(StatusCode::invalid_argument, "decode: batch and q_len must be >= 1, got %d, %d",
                         shape.batch, shape.q_len);
  if (num_threads < 1)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d", num_threads);
  if (c.B != shape.batch || c.G != num_kv_heads || c.D != head_dim || c.Dv != head_dim)
    return Status::error(StatusCode::shape_mismatch,
                         "decode: the KV cache is batch %d, %d kv heads of %d/%d; this run needs batch %d, "
                         "%d kv heads of %d",
                         c.B, c.G, c.D, c.Dv, shape.batch, num_kv_heads, head_dim);
  if (has_bias_kv())
    return Status::error(StatusCode::unsupported, "decode: layers with bias_k/bias_v are not supported");
  if (kdim != embed_dim || vdim != embed_dim)
    return Status::error(StatusCode::unsupported, "decode is self-attention: it needs kdim = vdim = embed_dim");
  const auto B = static_cast<std::size_t>(shape.batch), Lq = static_cast<std::size_t>(shape.q_len);
  SizeAccumulator acc;
  p->q = acc.add({B, Lq, static_cast<std::size_t>(embed_dim)});
  p->k_stage = acc.add({B, Lq, static_cast<std::size_t>(kv_width)});
  p->v_stage = acc.add({B, Lq, static_cast<std::size_t>(kv_width)});
  p->concat = acc.add({B, Lq, static_cast<std::size_t>(embed_dim)});
  p->scratch = acc.add({cached_attention_floats(c, *kernels, num_heads, shape.q_len, num_threads)});
  p->total_floats = acc.total();
  if (acc.overflowed() || !checked_mul(p->total_floats, sizeof(float), nullptr))
    return Status::error(StatusCode::size_overflow, "decode workspace overflows");
  return Status();
}

namespace {

struct AppendContext {
  const KvCache::Impl* c;
  const float *k, *v;
  int n;
};

void append_task(void* p, std::size_t t, int /*slot*/) {
  const AppendContext& x = *static_cast<const AppendContext*>(p);
  x.c->write_head(x.k, x.v, x.n, AttentionLayout::bsd, static_cast<int>(t / x.c->G), static_cast<int>(t % x.c->G));
}

}  // namespace

Status Layer::Impl::decode(const RunArgs& a, KvCache* cache, void* workspace, std::size_t workspace_bytes,
                           const Executor& exec) const {
  if (!cache) return Status::error(StatusCode::null_pointer, "decode: cache is null");
  if (a.layout != SequenceLayout::batch_first && a.layout != SequenceLayout::seq_first &&
      a.layout != SequenceLayout::unbatched)
    return Status::error(StatusCode::invalid_argument, "unknown sequence layout %d", static_cast<int>(a.layout));
  const int B = a.shape.batch, Lq = a.shape.q_len;
  if (a.layout == SequenceLayout::unbatched && B != 1)
    return Status::error(StatusCode::shape_mismatch, "unbatched input needs batch = 1, got %d", B);
  if (a.key || a.value)
    return Status::error(StatusCode::invalid_argument,
                         "decode is self-attention over the cache: key and value must be null");
  if (a.shape.kv_len != 0 && a.shape.kv_len != Lq)
    return Status::error(StatusCode::shape_mismatch, "decode: kv_len must be 0 or q_len, got %d", a.shape.kv_len);
  if (a.attn_mask.type != MaskType::none || a.key_padding_mask.type != MaskType::none ||
      a.attn_weights != AttnWeightsOutput::none)
    return Status::error(StatusCode::unsupported,
                         "decode: masks and attention weights are not supported (causal is implied)");
  if (!a.query) return Status::error(StatusCode::null_pointer, "query is null");
  if (!a.output) return Status::error(StatusCode::null_pointer, "output is null");
  DecodePlan plan;
  Status st = decode_plan(*cache, {B, Lq, Lq}, exec.num_threads(), &plan);
  if (!st) return st;
  KvCache::Impl& c = cache->impl();
  st = c.check_append(Lq);
  if (!st) return st;
  if (!workspace) return Status::error(StatusCode::null_pointer, "workspace is null");
  if (reinterpret_cast<std::uintptr_t>(workspace) % kWorkspaceAlignment != 0)
    return Status::error(StatusCode::invalid_argument, "workspace must be %zu-byte aligned", kWorkspaceAlignment);
  if (workspace_bytes < plan.total_floats * sizeof(float))
    return Status::error(StatusCode::workspace_too_small, "workspace has %zu bytes, this decode needs %zu",
                         workspace_bytes, plan.total_floats * sizeof(float));

  float* ws = static_cast<float*>(workspace);
  const int hd = head_dim;
  // 1. Q (head-major, scaled), K and V (staged row-major) of the new tokens in one GEMM.
  RunContext ctx;
  ctx.batch = B;
  Projection& p = ctx.proj[ctx.num_proj++];
  p.a = a.query;
  p.in = seq_strides(a.layout, B, Lq, embed_dim);
  p.rows = Lq;
  p.K = embed_dim;
  p.add(wq, embed_dim, {ws + plan.q, hd, 1, hd, static_cast<std::ptrdiff_t>(Lq) * hd, bq.get(), scale},
        static_cast<std::ptrdiff_t>(Lq) * embed_dim);
  const std::ptrdiff_t stage_step = static_cast<std::ptrdiff_t>(Lq) * kv_width;
  p.add(wk, kv_width, {ws + plan.k_stage, kv_width, 1, kv_width, 0, bk.get(), 1.0f}, stage_step);
  p.add(wv, kv_width, {ws + plan.v_stage, kv_width, 1, kv_width, 0, bv.get(), 1.0f}, stage_step);
  p.init_grid(kernels);
  exec.impl().parallel_for(p.tasks(B), projection_task, &ctx);

  // 2. The new keys and values into the cache.
  AppendContext app{&c, ws + plan.k_stage, ws + plan.v_stage, Lq};
  exec.impl().parallel_for(static_cast<std::size_t>(B) * num_kv_heads, append_task, &app);
  c.commit(Lq);

  // 3. The new queries over everything cached, into the concatenated heads.
  CachedOutput out{ws + plan.concat, static_cast<std::ptrdiff_t>(Lq) * embed_dim, hd, embed_dim};
  attend_cached(c, *kernels, ws + plan.q, num_heads, Lq, 0.0f, out, ws + plan.scratch, exec);

  // 4. Output projection.
  project_output(*this, ws + plan.concat, a, B, Lq, exec, &ctx);
  return Status();
}

}  // namespace edgeattn
