// The attention core (ONNX Attention semantics) on caller-projected Q, K, V. Two parallel
// stages:
//   1. gather: K and V (past and new) into the layouts the engine reads, Q scaled, head-major;
//   2. attend: the engine's stage — tiles, or with qk_matmul_output the rows path that
//      materialises the scores at the requested step.
// Y is written in place, in either layout. No allocation, no exceptions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "access.hpp"
#include "core/core_plan.hpp"
#include "executor.hpp"
#include "plan_impl.hpp"
#include "port_registry.hpp"
#include "size_math.hpp"

namespace edgeattn {
namespace {

Status plan_core(const AttentionArgs& a, int threads, CorePlan* p) {
  int mask_dims[4];
  Status st = validate_sizes(a, &p->d);
  if (st) st = validate_options(a, p->d, mask_dims);
  if (!st) return st;
  if (threads < 1)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d", threads);
  char err[160];
  p->kernels = registry::select(a.port, err, sizeof(err));
  if (!p->kernels) return Status::error(StatusCode::unsupported, "%s", err);
  const CoreDims& d = p->d;
  const KernelTable& k = *p->kernels;
  p->scores = a.qk_out != nullptr;
  p->threads = threads;
  const auto B = static_cast<std::size_t>(d.B), G = static_cast<std::size_t>(d.G);
  p->kv_ld = engine::kt_row_floats(k, static_cast<std::size_t>(d.Lt));
  p->ws = engine::WorkspaceLayout();
  p->q = p->ws.region("q", {B, static_cast<std::size_t>(d.Hq), static_cast<std::size_t>(d.Lq),
                            static_cast<std::size_t>(d.D)});
  // Kᵀ and V in elements of the staged type, as floats: halved for f16 (kv_ld is even).
  const std::size_t per_float = d.kv_type == static_cast<int>(ElementType::f16) ? 2 : 1;
  p->kt = p->ws.region("k", {B, G, static_cast<std::size_t>(d.D), p->kv_ld / per_float});
  p->v = p->ws.region("v", {(B * G * static_cast<std::size_t>(d.Lt) * d.Dv +
                             engine::v_slack_floats(k) + per_float - 1) /
                            per_float});
  const engine::AttentionDims ad{d.B, d.Hq, d.G, d.Lq, d.Lt, d.D, d.Dv, d.kv_type};
  engine::plan_attention(ad, k, p->scores ? engine::AttendPath::rows : engine::AttendPath::tiles,
                         threads, false, &p->ws, &p->attn);
  if (p->ws.overflowed())
    return Status::error(StatusCode::size_overflow, "workspace size overflows");
  return Status();
}

struct GatherContext {
  const AttentionArgs* a = nullptr;
  const CorePlan* p = nullptr;
  float* ws = nullptr;
  float scale = 1.0f;

  // Element (b, head, j, :) of a Q/K/V input in the caller's layout.
  const float* input_row(const float* base, int heads, int len, int width, int b, int h,
                         int j) const {
    if (a->layout == AttentionLayout::bhsd)
      return base + ((static_cast<std::size_t>(b) * heads + h) * len + j) * width;
    return base + (static_cast<std::size_t>(b) * len + j) * heads * width +
           static_cast<std::size_t>(h) * width;
  }
};

// Tasks [0, B·G) gather K and V of one (batch, kv head) — past and new keys into Kᵀ
// [head_dim][kv_ld], values into V [total][v_dim], writing present_key/present_value on the way;
// then [B·G, B·G + B·Hq) scale Q of one (batch, q head) into [q_len][head_dim].
// The keys and values of task t (one (batch, kv head)) as elements of E (f32, or f16).
template <class E>
void gather_kv(const GatherContext& ctx, std::size_t t) {
  const CoreDims& d = ctx.p->d;
  const AttentionArgs& a = *ctx.a;
  const std::size_t kv_ld = ctx.p->kv_ld;
  const int b = static_cast<int>(t / d.G), g = static_cast<int>(t % d.G);
  using T = typename E::Stored;
  bool overflow = false;  // checked before the run (check_f16_range)
  T* kt = reinterpret_cast<T*>(ctx.ws + ctx.p->kt) + t * d.D * kv_ld;
  T* v = reinterpret_cast<T*>(ctx.ws + ctx.p->v) + t * d.Lt * d.Dv;
  float* pk = a.present_key ? a.present_key + t * d.Lt * d.D : nullptr;
  float* pv = a.present_value ? a.present_value + t * d.Lt * d.Dv : nullptr;
  for (int j = 0; j < d.Lt; ++j) {
    const bool past = j < d.Lp;
    const float* krow = past ? a.past_key + (t * d.Lp + j) * d.D
                             : ctx.input_row(a.k, d.G, d.Lkv, d.D, b, g, j - d.Lp);
    const float* vrow = past ? a.past_value + (t * d.Lp + j) * d.Dv
                             : ctx.input_row(a.v, d.G, d.Lkv, d.Dv, b, g, j - d.Lp);
    for (int i = 0; i < d.D; ++i)
      kt[static_cast<std::size_t>(i) * kv_ld + j] = E::from_f32(krow[i], &overflow);
    T* vj = v + static_cast<std::size_t>(j) * d.Dv;
    for (int i = 0; i < d.Dv; ++i) vj[i] = E::from_f32(vrow[i], &overflow);
    if (pk) std::copy(krow, krow + d.D, pk + static_cast<std::size_t>(j) * d.D);
    if (pv) std::copy(vrow, vrow + d.Dv, pv + static_cast<std::size_t>(j) * d.Dv);
  }
}

void gather_task(void* c, std::size_t t, int /*slot*/) {
  const GatherContext& ctx = *static_cast<const GatherContext*>(c);
  const CoreDims& d = ctx.p->d;
  const AttentionArgs& a = *ctx.a;
  const std::size_t kv_tasks = static_cast<std::size_t>(d.B) * d.G;
  if (t < kv_tasks) {
    if (d.kv_type == static_cast<int>(ElementType::f16))
      gather_kv<kernels::ElemF16>(ctx, t);
    else
      gather_kv<kernels::ElemF32>(ctx, t);
    return;
  }
  t -= kv_tasks;
  const int b = static_cast<int>(t / d.Hq), h = static_cast<int>(t % d.Hq);
  float* q = ctx.ws + ctx.p->q + t * d.Lq * d.D;
  for (int i = 0; i < d.Lq; ++i) {
    const float* src = ctx.input_row(a.q, d.Hq, d.Lq, d.D, b, h, i);
    for (int e = 0; e < d.D; ++e) q[static_cast<std::size_t>(i) * d.D + e] = src[e] * ctx.scale;
  }
}

// f16 staging: a finite key or value beyond f16's range (|x| >= 65520 rounds to infinity) is an
// error, as for a f16 KvCache, not a silent infinity.
Status check_f16_range(const AttentionArgs& a, const CoreDims& d) {
  const std::size_t BG = static_cast<std::size_t>(d.B) * d.G;
  const struct {
    const float* data;
    std::size_t count;
    const char* name;
  } arrays[] = {{a.k, BG * d.Lkv * d.D, "k"},
                {a.v, BG * d.Lkv * d.Dv, "v"},
                {a.past_key, BG * d.Lp * d.D, "past_key"},
                {a.past_value, BG * d.Lp * d.Dv, "past_value"}};
  for (const auto& x : arrays) {
    if (!x.data) continue;
    for (std::size_t i = 0; i < x.count; ++i) {
      if (kernels::f16_overflows(x.data[i]))
        return Status::error(StatusCode::invalid_argument,
                             "%s[%zu] = %g is too large for kv_element_type f16", x.name, i,
                             static_cast<double>(x.data[i]));
    }
  }
  return Status();
}

// The ONNX masks: the attention mask broadcast NumPy style (strides 0 where a dimension is 1),
// keys past its last dimension blocked; causal bottom-right aligned to the past (or to the
// valid length); softcap before any mask.
engine::MaskSource core_masks(const AttentionArgs& a, const CoreDims& d, const int* md) {
  engine::MaskSource m;
  kernels::MaskView& c = m.common;
  c.kv_len = d.Lt;
  const AttentionMask& am = a.mask;
  if (am.type != MaskType::none) {
    if (am.type == MaskType::additive) c.attn_add = static_cast<const float*>(am.data);
    if (am.type == MaskType::boolean) {
      c.attn_bool = static_cast<const std::uint8_t*>(am.data);
      c.attn_bool_blocks_if_true = am.sense == BoolMaskSense::blocks_if_true;
    }
    c.mask_ld = md[2] == 1 ? 0 : md[3];
    m.attn_head = md[1] == 1 ? 0 : static_cast<std::ptrdiff_t>(md[2]) * md[3];
    m.attn_batch = md[0] == 1 ? 0 : static_cast<std::ptrdiff_t>(md[1]) * md[2] * md[3];
    c.mask_cols = md[3];
  }
  c.causal = a.causal;
  c.causal_offset = d.Lp;
  c.softcap = a.softcap;
  if (a.nonpad_kv_seqlen) {
    m.valid_keys = a.nonpad_kv_seqlen;
    m.valid_keys_shift_causal = true;
  }
  return m;
}

Status run_core(const CorePlan& p, const AttentionArgs& a, void* workspace,
                std::size_t workspace_bytes, const Executor& exec) {
  CoreDims d;
  int md[4];
  Status st = validate_sizes(a, &d);
  if (!st) return st;
  if (!(d == p.d))
    return Status::error(StatusCode::shape_mismatch,
                         "the arguments' sizes are not the ones the plan was made for");
  st = validate_options(a, d, md);
  if (st) st = validate_pointers(a, d);
  if (!st) return st;
  if (a.qk_out && !p.scores)
    return Status::error(StatusCode::invalid_argument,
                         "qk_out is set but the plan was made without it (no room for the scores)");
  if (exec.num_threads() > p.threads)
    return Status::error(StatusCode::invalid_argument,
                         "the executor has %d threads, the plan was made for at most %d",
                         exec.num_threads(), p.threads);
  st = engine::check_workspace(workspace, workspace_bytes, p.ws, "call");
  if (!st) return st;

  if (d.kv_type == static_cast<int>(ElementType::f16)) {  // before anything is written
    st = check_f16_range(a, d);
    if (!st) return st;
  }
  float* ws = static_cast<float*>(workspace);
  p.ws.arm(ws);
  GatherContext g{&a, &p, ws, a.scale ? *a.scale : 1.0f / std::sqrt(static_cast<float>(d.D))};
  parallel_for(exec, static_cast<std::size_t>(d.B) * (d.G + d.Hq), gather_task, &g);

  engine::HeadSources s;
  s.q = ws + p.q;
  s.q_head = static_cast<std::ptrdiff_t>(d.Lq) * d.D;
  s.q_batch = s.q_head * d.Hq;
  s.kt = ws + p.kt;
  s.kv_ld = static_cast<std::ptrdiff_t>(p.kv_ld);
  s.kt_head = d.D * s.kv_ld;
  s.kt_batch = s.kt_head * d.G;
  s.v = ws + p.v;
  s.v_head = static_cast<std::ptrdiff_t>(d.Lt) * d.Dv;
  s.v_batch = s.v_head * d.G;
  s.out = a.y;
  if (a.layout == AttentionLayout::bhsd) {
    s.out_head = static_cast<std::ptrdiff_t>(d.Lq) * d.Dv;
    s.out_batch = s.out_head * d.Hq;
    s.out_row = d.Dv;
  } else {
    s.out_head = d.Dv;
    s.out_row = static_cast<std::ptrdiff_t>(d.Hq) * d.Dv;
    s.out_batch = s.out_row * d.Lq;
  }
  const engine::MaskSource m = core_masks(a, d, md);
  if (a.qk_out) {
    engine::attend_with_scores(p.attn, s, m, static_cast<int>(a.qk_mode), a.qk_out, ws, exec);
  } else {
    engine::attend(p.attn, d.Lt, s, m, ws, exec);
  }
  return p.ws.verify(ws);
}

}  // namespace

Status plan_attention(const AttentionArgs& args, int num_threads, Plan* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "plan is null");
  std::unique_ptr<PlanImpl> impl = PlanImpl::make(PlanKind::attention, nullptr);
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory making a plan");
  Status st = plan_core(args, num_threads, &impl->core);
  if (!st) return st;
  impl->finish(impl->core.ws, num_threads);
  detail::Access::set(out, std::move(impl));
  return Status();
}

Status attention(const Plan& plan, const AttentionArgs& args, void* workspace,
                 std::size_t workspace_bytes, const Executor& executor) {
  const PlanImpl* p = nullptr;
  Status st = PlanImpl::check(plan, PlanKind::attention, nullptr, &p);
  if (!st) return st;
  return run_core(p->core, args, workspace, workspace_bytes, executor);
}

Status attention_workspace_size(const AttentionArgs& a, int num_threads, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  CorePlan p;
  Status st = plan_core(a, std::max(1, num_threads), &p);
  if (st) *bytes = p.ws.bytes();
  return st;
}

Status attention(const AttentionArgs& a, void* workspace, std::size_t workspace_bytes,
                 const Executor& exec) {
  CorePlan p;
  Status st = plan_core(a, exec.num_threads(), &p);
  if (!st) return st;
  return run_core(p, a, workspace, workspace_bytes, exec);
}

Status attention(const AttentionArgs& a, const Executor& exec) {
  std::size_t bytes = 0;
  Status st = attention_workspace_size(a, exec.num_threads(), &bytes);
  if (!st) return st;
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(kWorkspaceAlignment,
                         round_up(std::max<std::size_t>(bytes, 64), kWorkspaceAlignment)),
      std::free);
  if (!ws)
    return Status::error(StatusCode::out_of_memory, "cannot allocate a %zu-byte workspace", bytes);
  return attention(a, ws.get(), bytes, exec);
}

}  // namespace edgeattn
