// One forward pass: three parallel stages (Q/K/V projections → attention per (batch, head,
// query tile) → output projection) over a plan made once per shape. Every task owns a disjoint
// piece of output and reduces in a fixed order, so results are bitwise the same for any thread
// count. Nothing here allocates or throws.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "access.hpp"
#include "layer/layer_impl.hpp"
#include "plan_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {

Status plan_run(const LayerImpl& L, const Shape& shape, int num_threads, LayerRunPlan* p) {
  const int kv_len = shape.kv_len == 0 ? shape.q_len : shape.kv_len;
  if (shape.batch <= 0 || shape.q_len <= 0 || kv_len <= 0)
    return Status::error(StatusCode::invalid_argument,
                         "shape must have batch, q_len, kv_len >= 1, got %d, %d, %d", shape.batch,
                         shape.q_len, shape.kv_len);
  if (num_threads <= 0)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d",
                         num_threads);
  if (L.has_bias_kv() && kv_len == std::numeric_limits<int>::max())
    return Status::error(StatusCode::size_overflow, "kv_len %d plus the bias_k position overflows",
                         kv_len);
  const int B = shape.batch, Lq = shape.q_len;
  p->shape = {B, Lq, kv_len};
  p->threads = num_threads;
  p->kv_total = kv_len + (L.has_bias_kv() ? 1 : 0);
  const KernelTable& k = *L.kernels;
  const auto kv_total = static_cast<std::size_t>(p->kv_total);
  const auto Bz = static_cast<std::size_t>(B), Lqz = static_cast<std::size_t>(Lq);
  p->kv_ld = engine::kt_row_floats(k, kv_total);
  engine::WorkspaceLayout& ws = p->ws;
  ws = engine::WorkspaceLayout();
  p->q = ws.region("q", {Bz, Lqz, static_cast<std::size_t>(L.embed_dim)});
  p->kt = ws.region("k", {Bz, p->kv_ld, static_cast<std::size_t>(L.kv_width)});
  p->v = ws.region(
      "v", {Bz * kv_total * static_cast<std::size_t>(L.kv_width) + engine::v_slack_floats(k)});
  p->concat = ws.region("concat", {Bz, Lqz, static_cast<std::size_t>(L.embed_dim)});
  const engine::AttentionDims d{B,           L.num_heads, L.num_kv_heads, Lq,
                                p->kv_total, L.head_dim,  L.head_dim};
  // Rows (attention weights) or tiles, decided per run: the scratch serves both.
  engine::plan_attention(d, k, engine::AttendPath::rows, num_threads, /*also_tiles=*/true, &ws,
                         &p->attn);
  p->fused.plan(k, L.weight_type, B, Lq, L.embed_dim, L.input_features, L.input_outliers);
  p->fused.add_segment(L.wq, L.embed_dim);
  p->fused.add_segment(L.wk, L.kv_width);
  p->fused.add_segment(L.wv, L.kv_width);
  p->fused.plan_grid();
  p->pq.plan(k, L.weight_type, B, Lq, L.embed_dim, L.input_features, L.input_outliers);
  p->pq.add_segment(L.wq, L.embed_dim);
  p->pq.plan_grid();
  p->pk.plan(k, L.weight_type, B, kv_len, L.kdim, L.input_features, L.input_outliers);
  p->pk.add_segment(L.wk, L.kv_width);
  p->pk.plan_grid();
  p->pv.plan(k, L.weight_type, B, kv_len, L.vdim, L.input_features, L.input_outliers);
  p->pv.add_segment(L.wv, L.kv_width);
  p->pv.plan_grid();
  p->out.plan(k, L.weight_type, B, Lq, L.embed_dim, L.head_features, L.head_outliers);
  p->out.add_segment(L.wout, L.embed_dim);
  p->out.plan_grid();
  if (L.weight_type == ElementType::int8) {
    // One region for the quantized inputs: self-attention's X, or the three inputs of
    // cross-attention side by side (one stage); the output projection, a later stage, reuses it.
    const std::size_t floats = std::max({engine::quantized_floats_sum({&p->fused}),
                                         engine::quantized_floats_sum({&p->pq, &p->pk, &p->pv}),
                                         engine::quantized_floats_sum({&p->out})});
    const std::size_t at = ws.region("int8 rows", {floats});
    p->fused.place_quantized(at);
    p->pq.place_quantized(at);
    p->pk.place_quantized(at + p->pq.quantized_floats());
    p->pv.place_quantized(at + p->pq.quantized_floats() + p->pk.quantized_floats());
    p->out.place_quantized(at);
  }
  if (ws.overflowed() || !checked_mul(ws.total_floats(), sizeof(float), nullptr))
    return Status::error(StatusCode::size_overflow,
                         "workspace for batch=%d q_len=%d kv_len=%d overflows size_t", shape.batch,
                         shape.q_len, kv_len);
  return Status();
}

void project_output(const LayerImpl& L, engine::Projection out, float* workspace,
                    const float* concat, const RunArgs& a, const Executor& exec) {
  const int B = out.batch, Lq = out.rows;
  out.a = concat;
  out.bind_workspace(workspace);
  out.in = {static_cast<std::ptrdiff_t>(Lq) * L.embed_dim, L.embed_dim};
  const engine::SeqStrides o = engine::seq_strides(a.layout, B, Lq, L.embed_dim);
  out.bind(0, {a.output, o.token, 1, L.embed_dim, 0, L.bo.get(), 1.0f}, o.batch);
  const engine::Projection* stage[] = {&out};
  engine::run_projections(stage, 1, exec);
}

namespace {

// The masks of a layer run: the attention mask (rank 2 shared by all heads, rank 3 per
// (batch, head)) and the key-padding mask per batch; the bias_k position is never masked.
engine::MaskSource layer_masks(const LayerImpl& L, const RunArgs& a, int Lq, int Lkv) {
  engine::MaskSource m;
  kernels::MaskView& c = m.common;
  const AttnMask& am = a.attn_mask;
  const std::ptrdiff_t plane = static_cast<std::ptrdiff_t>(Lq) * Lkv;
  if (am.type == MaskType::additive) c.attn_add = static_cast<const float*>(am.data);
  if (am.type == MaskType::boolean) {
    c.attn_bool = static_cast<const std::uint8_t*>(am.data);
    c.attn_bool_blocks_if_true = am.sense == BoolMaskSense::blocks_if_true;
  }
  if (am.rank == 3) {
    m.attn_batch = plane * L.num_heads;
    m.attn_head = plane;
  }
  c.mask_ld = Lkv;
  const KeyPaddingMask& kp = a.key_padding_mask;
  if (kp.type == MaskType::additive) c.kpm_add = static_cast<const float*>(kp.data);
  if (kp.type == MaskType::boolean) {
    c.kpm_bool = static_cast<const std::uint8_t*>(kp.data);
    c.kpm_bool_blocks_if_true = kp.sense == BoolMaskSense::blocks_if_true;
  }
  m.kpm_batch = Lkv;
  c.causal = a.causal;
  c.kv_len = Lkv;
  return m;
}

}  // namespace

Status run_planned(const LayerImpl& L, const LayerRunPlan& p, const RunArgs& a, void* workspace,
                   std::size_t workspace_bytes, const Executor& exec) {
  Status st = validate_run_args(L, a, p.shape);
  if (!st) return st;
  if (exec.num_threads() > p.threads)
    return Status::error(StatusCode::invalid_argument,
                         "the executor has %d threads, the plan was made for at most %d",
                         exec.num_threads(), p.threads);
  char shape[96];
  std::snprintf(shape, sizeof(shape), "batch=%d q_len=%d kv_len=%d threads=%d", p.shape.batch,
                p.shape.q_len, p.shape.kv_len, p.threads);
  st = engine::check_workspace(workspace, workspace_bytes, p.ws, "run", shape);
  if (!st) return st;

  float* ws = static_cast<float*>(workspace);
  p.ws.arm(ws);
  const int B = p.shape.batch, Lq = p.shape.q_len, Lkv = p.shape.kv_len, kv_total = p.kv_total;
  const int hd = L.head_dim, E = L.embed_dim, G = L.num_kv_heads;
  const auto kv_ld = static_cast<std::ptrdiff_t>(p.kv_ld);

  // 1. Projections: Q head-major and pre-scaled, K transposed per kv head, V head-major.
  const kernels::OutputMap q_map{ws + p.q,   hd,     1, hd, static_cast<std::ptrdiff_t>(Lq) * hd,
                                 L.bq.get(), L.scale};
  const kernels::OutputMap k_map{ws + p.kt, 1, kv_ld, hd, hd * kv_ld, L.bk.get(), 1.0f};
  const kernels::OutputMap v_map{ws + p.v,   hd,  1, hd, static_cast<std::ptrdiff_t>(kv_total) * hd,
                                 L.bv.get(), 1.0f};
  const std::ptrdiff_t q_step = static_cast<std::ptrdiff_t>(Lq) * E;
  const std::ptrdiff_t k_step = static_cast<std::ptrdiff_t>(L.kv_width) * kv_ld;
  const std::ptrdiff_t v_step = static_cast<std::ptrdiff_t>(kv_total) * L.kv_width;
  engine::Projection proj[3];
  const engine::Projection* stage[3];
  int n = 0;
  auto bind_input = [&](engine::Projection& pr, const float* x, int rows, int width) {
    pr.a = x;
    pr.in = engine::seq_strides(a.layout, B, rows, width);
    pr.bind_workspace(ws);
    stage[n++] = &pr;
  };
  if (a.key == nullptr) {  // self-attention: one GEMM over [Wq | Wk | Wv]
    proj[0] = p.fused;
    proj[0].bind(0, q_map, q_step);
    proj[0].bind(1, k_map, k_step);
    proj[0].bind(2, v_map, v_step);
    bind_input(proj[0], a.query, Lq, E);
  } else {
    proj[0] = p.pq;
    proj[0].bind(0, q_map, q_step);
    bind_input(proj[0], a.query, Lq, E);
    proj[1] = p.pk;
    proj[1].bind(0, k_map, k_step);
    bind_input(proj[1], a.key, Lkv, L.kdim);
    proj[2] = p.pv;
    proj[2].bind(0, v_map, v_step);
    bind_input(proj[2], a.value, Lkv, L.vdim);
  }
  engine::run_projections(stage, n, exec);

  if (L.has_bias_kv()) {  // the appended key/value position at index kv_len of every head
    for (int b = 0; b < B; ++b)
      for (int g = 0; g < G; ++g)
        for (int d = 0; d < hd; ++d) {
          const std::size_t bg = static_cast<std::size_t>(b) * G + g;
          ws[p.kt + (bg * hd + d) * p.kv_ld + Lkv] = L.bias_k[g * hd + d];
          ws[p.v + (bg * kv_total + Lkv) * hd + d] = L.bias_v[g * hd + d];
        }
  }

  // 2. Attention, into the concatenated heads [batch][q_len][E].
  engine::HeadSources s;
  s.q = ws + p.q;
  s.q_head = static_cast<std::ptrdiff_t>(Lq) * hd;
  s.q_batch = s.q_head * L.num_heads;
  s.kt = ws + p.kt;
  s.kv_ld = kv_ld;
  s.kt_head = hd * kv_ld;
  s.kt_batch = s.kt_head * G;
  s.v = ws + p.v;
  s.v_head = static_cast<std::ptrdiff_t>(kv_total) * hd;
  s.v_batch = s.v_head * G;
  s.out = ws + p.concat;
  s.out_batch = static_cast<std::ptrdiff_t>(Lq) * E;
  s.out_head = hd;
  s.out_row = E;
  const engine::MaskSource m = layer_masks(L, a, Lq, Lkv);
  if (a.attn_weights == AttnWeightsOutput::none) {
    engine::attend(p.attn, kv_total, s, m, ws, exec);
  } else {
    engine::attend_with_weights(p.attn, s, m, a.attn_weights == AttnWeightsOutput::averaged,
                                a.attn_weights_out, ws, exec);
  }

  // 3. Output projection.
  project_output(L, p.out, ws, ws + p.concat, a, exec);
  return p.ws.verify(ws);
}

// ---------------------------------------------------------------- public entry points

Status Layer::plan(const Shape& shape, int num_threads, Plan* out) const {
  if (!out) return Status::error(StatusCode::null_pointer, "plan is null");
  std::unique_ptr<PlanImpl> impl = PlanImpl::make(PlanKind::layer_run, impl_.get());
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory making a plan");
  Status st = plan_run(*impl_, shape, num_threads, &impl->layer);
  if (!st) return st;
  impl->finish(impl->layer.ws, num_threads);
  detail::Access::set(out, std::move(impl));
  return Status();
}

Status Layer::run(const Plan& plan, const RunArgs& args, void* workspace,
                  std::size_t workspace_bytes, const Executor& executor) const {
  const PlanImpl* p = nullptr;
  Status st = PlanImpl::check(plan, PlanKind::layer_run, impl_.get(), &p);
  if (!st) return st;
  return run_planned(*impl_, p->layer, args, workspace, workspace_bytes, executor);
}

Status Layer::workspace_size(const Shape& shape, int num_threads, std::size_t* bytes) const {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  LayerRunPlan p;
  Status st = plan_run(*impl_, shape, num_threads, &p);
  if (st) *bytes = p.ws.bytes();
  return st;
}

Status Layer::run(const RunArgs& args, void* workspace, std::size_t workspace_bytes,
                  const Executor& executor) const {
  // The arguments first, against their own shape, so a bad input is reported as such rather
  // than as a planning failure.
  const Shape stated{args.shape.batch, args.shape.q_len,
                     args.shape.kv_len == 0 ? args.shape.q_len : args.shape.kv_len};
  Status st = validate_run_args(*impl_, args, stated);
  if (!st) return st;
  LayerRunPlan p;
  st = plan_run(*impl_, stated, executor.num_threads(), &p);
  if (!st) return st;
  return run_planned(*impl_, p, args, workspace, workspace_bytes, executor);
}

Status Layer::run(const RunArgs& args) {
  if (!impl_->owned_workspace)
    return Status::error(StatusCode::invalid_argument,
                         "this layer owns no workspace: set spec.max_q_len at create or pass one");
  return run(args, impl_->owned_workspace.get(), impl_->owned_workspace_bytes,
             *impl_->owned_executor);
}

}  // namespace edgeattn
