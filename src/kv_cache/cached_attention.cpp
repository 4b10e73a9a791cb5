// Attention of the newest queries over a KV cache (the core API's CachedAttentionArgs): Q is
// gathered, scaled, into the workspace head-major, then the engine's attention stage reads Kᵀ
// and V in place in the cache. A decode step (q_len = 1) takes the split-KV path: fixed chunks of
// the cached positions that threads share, merged in chunk order, bitwise the same for any
// thread count.
#include <algorithm>
#include <cmath>

#include "access.hpp"
#include "executor.hpp"
#include "kv_cache/cached_plan.hpp"
#include "plan_impl.hpp"
#include "port_registry.hpp"
#include "size_math.hpp"

namespace edgeattn {

engine::HeadSources cache_sources(const KvCacheImpl& c) {
  const CacheGeometry& g = c.geo;
  engine::HeadSources s;
  const std::size_t elem = element_size(static_cast<ElementType>(g.kv_type));
  s.kt = static_cast<const unsigned char*>(c.memory) + c.kt_offset * elem;
  s.kv_ld = static_cast<std::ptrdiff_t>(c.kv_ld);
  s.kt_head = static_cast<std::ptrdiff_t>(g.head_dim) * s.kv_ld;
  s.kt_batch = s.kt_head * g.kv_heads;
  s.v = static_cast<const unsigned char*>(c.memory) + c.v_offset * elem;
  s.v_head = static_cast<std::ptrdiff_t>(g.capacity) * g.v_dim;
  s.v_batch = s.v_head * g.kv_heads;
  if (g.kv_type == static_cast<int>(ElementType::int8)) {
    const auto* base = static_cast<const unsigned char*>(c.memory);
    s.k_scale = reinterpret_cast<const float*>(base + c.k_scale_offset);
    s.v_scale = reinterpret_cast<const float*>(base + c.v_scale_offset);
    s.scale_head = g.capacity;
    s.scale_batch = s.scale_head * g.kv_heads;
  }
  return s;
}

engine::MaskSource cache_masks(const KvCacheImpl& c, int q_len, float softcap) {
  engine::MaskSource m;
  kernels::MaskView& v = m.common;
  const int stored = c.stored();
  v.kv_len = stored;
  v.causal = true;
  v.softcap = softcap;
  if (c.geo.window > 0) {
    v.ring_capacity = c.geo.capacity;
    v.ring_newest_slot = c.slot(c.length - 1);
    v.query_age0 = q_len - 1;
    v.window = c.geo.window;
  } else {
    v.causal_offset = stored - q_len;
  }
  return m;
}

void plan_cached_attention(const CacheGeometry& geo, const KernelTable& k, int q_heads, int q_len,
                           int threads, engine::WorkspaceLayout* ws, engine::AttentionPlan* plan) {
  const engine::AttentionDims d{geo.batch,    q_heads,      geo.kv_heads, q_len,
                                geo.capacity, geo.head_dim, geo.v_dim,    geo.kv_type};
  engine::plan_attention(d, k,
                         q_len == 1 ? engine::AttendPath::split_kv : engine::AttendPath::tiles,
                         threads, false, ws, plan);
}

namespace {

Status plan_cached(const KvCacheImpl& c, const CachedAttentionArgs& a, int threads, CachedPlan* p) {
  const CacheGeometry& g = c.geo;
  if (a.layout != AttentionLayout::bhsd && a.layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d",
                         static_cast<int>(a.layout));
  if (a.q_heads < 1 || a.q_heads % g.kv_heads != 0)
    return Status::error(StatusCode::invalid_argument,
                         "q_heads (%d) must be a positive multiple of the cache's kv_heads (%d)",
                         a.q_heads, g.kv_heads);
  if (a.q_len < 1 || a.q_len > g.capacity)
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: the queries are the newest positions of a cache of capacity %d",
                         a.q_len, g.capacity);
  if (g.window > 0 && a.q_len > g.capacity - g.window + 1)
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: a sliding window of %d in a ring of %d serves at most %d "
                         "queries at once",
                         a.q_len, g.window, g.capacity, g.capacity - g.window + 1);
  if (threads < 1)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d", threads);
  char err[160];
  const KernelTable* k = registry::select(a.port, err, sizeof(err));
  if (!k) return Status::error(StatusCode::unsupported, "%s", err);
  p->geo = g;
  p->q_heads = a.q_heads;
  p->q_len = a.q_len;
  p->threads = threads;
  p->ws = engine::WorkspaceLayout();
  p->q =
      p->ws.region("q", {static_cast<std::size_t>(g.batch), static_cast<std::size_t>(a.q_heads),
                         static_cast<std::size_t>(a.q_len), static_cast<std::size_t>(g.head_dim)});
  plan_cached_attention(g, *k, a.q_heads, a.q_len, threads, &p->ws, &p->attn);
  if (p->ws.overflowed())
    return Status::error(StatusCode::size_overflow, "workspace size overflows");
  return Status();
}

struct ScaleQContext {
  const CachedPlan* p;
  const CachedAttentionArgs* a;
  float* q;
  float scale;
};

void scale_q_task(void* c, std::size_t t, int /*slot*/) {
  const ScaleQContext& x = *static_cast<const ScaleQContext*>(c);
  const int Hq = x.p->q_heads, Lq = x.p->q_len, D = x.p->geo.head_dim;
  const int b = static_cast<int>(t / Hq), h = static_cast<int>(t % Hq);
  float* dst = x.q + t * Lq * D;
  for (int i = 0; i < Lq; ++i) {
    const float* src = x.a->layout == AttentionLayout::bhsd
                           ? x.a->q + (t * Lq + i) * D
                           : x.a->q + (static_cast<std::size_t>(b) * Lq + i) * Hq * D +
                                 static_cast<std::size_t>(h) * D;
    for (int d = 0; d < D; ++d) dst[static_cast<std::size_t>(i) * D + d] = src[d] * x.scale;
  }
}

Status run_cached(const CachedPlan& p, const KvCacheImpl& c, const CachedAttentionArgs& a,
                  void* workspace, std::size_t workspace_bytes, const Executor& exec) {
  if (!(c.geo == p.geo))
    return Status::error(StatusCode::shape_mismatch,
                         "the cache's geometry is not the one the plan was made for");
  if (a.q_heads != p.q_heads || a.q_len != p.q_len)
    return Status::error(StatusCode::shape_mismatch,
                         "q_heads %d, q_len %d: the plan was made for q_heads %d, q_len %d",
                         a.q_heads, a.q_len, p.q_heads, p.q_len);
  if (a.layout != AttentionLayout::bhsd && a.layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d",
                         static_cast<int>(a.layout));
  if (a.q_len > c.stored())
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: the queries are the newest positions of the cache, which "
                         "holds %d (append their keys and values first)",
                         a.q_len, c.stored());
  if (a.scale && !std::isfinite(*a.scale))
    return Status::error(StatusCode::invalid_argument, "scale must be finite");
  if (!std::isfinite(a.softcap) || a.softcap < 0.0f)
    return Status::error(StatusCode::invalid_argument, "softcap must be finite and >= 0");
  if (!a.q || !a.y) return Status::error(StatusCode::null_pointer, "q or y is null");
  if (exec.num_threads() > p.threads)
    return Status::error(StatusCode::invalid_argument,
                         "the executor has %d threads, the plan was made for at most %d",
                         exec.num_threads(), p.threads);
  Status st = engine::check_workspace(workspace, workspace_bytes, p.ws, "call");
  if (!st) return st;
  const CacheGeometry& g = c.geo;
  float* ws = static_cast<float*>(workspace);
  p.ws.arm(ws);
  ScaleQContext sq{&p, &a, ws + p.q,
                   a.scale ? *a.scale : 1.0f / std::sqrt(static_cast<float>(g.head_dim))};
  parallel_for(exec, static_cast<std::size_t>(g.batch) * a.q_heads, scale_q_task, &sq);
  engine::HeadSources s = cache_sources(c);
  s.q = ws + p.q;
  s.q_head = static_cast<std::ptrdiff_t>(a.q_len) * g.head_dim;
  s.q_batch = s.q_head * a.q_heads;
  s.out = a.y;
  if (a.layout == AttentionLayout::bhsd) {
    s.out_batch = static_cast<std::ptrdiff_t>(a.q_heads) * a.q_len * g.v_dim;
    s.out_head = static_cast<std::ptrdiff_t>(a.q_len) * g.v_dim;
    s.out_row = g.v_dim;
  } else {
    s.out_batch = static_cast<std::ptrdiff_t>(a.q_len) * a.q_heads * g.v_dim;
    s.out_head = g.v_dim;
    s.out_row = static_cast<std::ptrdiff_t>(a.q_heads) * g.v_dim;
  }
  engine::attend(p.attn, c.stored(), s, cache_masks(c, a.q_len, a.softcap), ws, exec);
  return p.ws.verify(ws);
}

}  // namespace

Status plan_attention(const KvCache& cache, const CachedAttentionArgs& args, int num_threads,
                      Plan* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "plan is null");
  std::unique_ptr<PlanImpl> impl = PlanImpl::make(PlanKind::cached_attention, nullptr);
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory making a plan");
  Status st = plan_cached(*detail::Access::impl(cache), args, num_threads, &impl->cached);
  if (!st) return st;
  impl->finish(impl->cached.ws, num_threads);
  detail::Access::set(out, std::move(impl));
  return Status();
}

Status attention(const Plan& plan, const KvCache& cache, const CachedAttentionArgs& args,
                 void* workspace, std::size_t workspace_bytes, const Executor& executor) {
  const PlanImpl* p = nullptr;
  Status st = PlanImpl::check(plan, PlanKind::cached_attention, nullptr, &p);
  if (!st) return st;
  return run_cached(p->cached, *detail::Access::impl(cache), args, workspace, workspace_bytes,
                    executor);
}

Status attention_workspace_size(const KvCache& cache, const CachedAttentionArgs& args,
                                int num_threads, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  const KvCacheImpl& c = *detail::Access::impl(cache);
  if (args.q_len > c.stored())  // the one-shot form sizes a call over the cache as it is now
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: the queries are the newest positions of the cache, which "
                         "holds %d (append their keys and values first)",
                         args.q_len, c.stored());
  CachedPlan p;
  Status st = plan_cached(c, args, std::max(1, num_threads), &p);
  if (st) *bytes = p.ws.bytes();
  return st;
}

Status attention(const KvCache& cache, const CachedAttentionArgs& args, void* workspace,
                 std::size_t workspace_bytes, const Executor& executor) {
  const KvCacheImpl& c = *detail::Access::impl(cache);
  CachedPlan p;
  Status st = plan_cached(c, args, executor.num_threads(), &p);
  if (!st) return st;
  return run_cached(p, c, args, workspace, workspace_bytes, executor);
}

}  // namespace edgeattn
