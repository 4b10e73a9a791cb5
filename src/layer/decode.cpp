// Layer::decode: self-attention of new tokens over a KV cache. The new tokens' Q, K and V come
// from one GEMM; K and V enter the cache through KvCache::append; the new queries attend over
// everything cached through the engine's stage for caches (the same one cached attention runs);
// the output projection is the layer run's.
#include <algorithm>
#include "access.hpp"
#include "layer/layer_impl.hpp"
#include "plan_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {

Status plan_decode(const LayerImpl& L, const CacheGeometry& c, const Shape& shape, int num_threads,
                   LayerDecodePlan* p) {
  if (shape.batch < 1 || shape.q_len < 1)
    return Status::error(StatusCode::invalid_argument,
                         "decode: batch and q_len must be >= 1, got %d, %d", shape.batch,
                         shape.q_len);
  if (num_threads < 1)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d",
                         num_threads);
  if (c.batch != shape.batch || c.kv_heads != L.num_kv_heads || c.head_dim != L.head_dim ||
      c.v_dim != L.head_dim)
    return Status::error(StatusCode::shape_mismatch,
                         "decode: the KV cache is batch %d, %d kv heads of %d/%d; this run needs "
                         "batch %d, %d kv heads of %d",
                         c.batch, c.kv_heads, c.head_dim, c.v_dim, shape.batch, L.num_kv_heads,
                         L.head_dim);
  if (L.has_bias_kv())
    return Status::error(StatusCode::unsupported,
                         "decode: layers with bias_k/bias_v are not supported");
  if (L.kdim != L.embed_dim || L.vdim != L.embed_dim)
    return Status::error(StatusCode::unsupported,
                         "decode is self-attention: it needs kdim = vdim = embed_dim");
  const KernelTable& k = *L.kernels;
  const int B = shape.batch, Lq = shape.q_len;
  p->shape = {B, Lq, Lq};
  p->threads = num_threads;
  p->cache = c;
  const auto Bz = static_cast<std::size_t>(B), Lqz = static_cast<std::size_t>(Lq);
  engine::WorkspaceLayout& ws = p->ws;
  ws = engine::WorkspaceLayout();
  // Q head-major; the new K and V rows staged [batch][q_len][kv_width] (the bsd layout
  // KvCache::append takes); the concatenated heads; the attention stage's scratch.
  p->q = ws.region("q", {Bz, Lqz, static_cast<std::size_t>(L.embed_dim)});
  p->k_stage = ws.region("k stage", {Bz, Lqz, static_cast<std::size_t>(L.kv_width)});
  p->v_stage = ws.region("v stage", {Bz, Lqz, static_cast<std::size_t>(L.kv_width)});
  p->concat = ws.region("concat", {Bz, Lqz, static_cast<std::size_t>(L.embed_dim)});
  plan_cached_attention(c, k, L.num_heads, Lq, num_threads, &ws, &p->attn);
  p->qkv.plan(k, L.weight_type, B, Lq, L.embed_dim, L.input_features, L.input_outliers);
  p->qkv.add_segment(L.wq, L.embed_dim);
  p->qkv.add_segment(L.wk, L.kv_width);
  p->qkv.add_segment(L.wv, L.kv_width);
  p->qkv.plan_grid();
  p->out.plan(k, L.weight_type, B, Lq, L.embed_dim, L.head_features, L.head_outliers);
  p->out.add_segment(L.wout, L.embed_dim);
  p->out.plan_grid();
  if (L.weight_type == ElementType::int8) {  // quantized inputs of the two stages, one region
    // (the output projection's rows may hold more outlier values than the input's)
    const std::size_t at =
        ws.region("int8 rows", {std::max(p->qkv.quantized_floats(), p->out.quantized_floats())});
    p->qkv.place_quantized(at);
    p->out.place_quantized(at);
  }
  if (ws.overflowed() || !checked_mul(ws.total_floats(), sizeof(float), nullptr))
    return Status::error(StatusCode::size_overflow, "decode workspace overflows");
  return Status();
}

Status decode_planned(const LayerImpl& L, const LayerDecodePlan& p, const RunArgs& a,
                      KvCache* cache, void* workspace, std::size_t workspace_bytes,
                      const Executor& exec) {
  if (!cache) return Status::error(StatusCode::null_pointer, "decode: cache is null");
  Status st = validate_decode_args(L, a, p.shape);
  if (!st) return st;
  const KvCacheImpl& c = *detail::Access::impl(*cache);
  if (!(c.geo == p.cache))
    return Status::error(StatusCode::shape_mismatch,
                         "decode: the cache's geometry is not the one the plan was made for");
  if (exec.num_threads() > p.threads)
    return Status::error(StatusCode::invalid_argument,
                         "the executor has %d threads, the plan was made for at most %d",
                         exec.num_threads(), p.threads);
  st = c.check_append(p.shape.q_len);  // before anything is computed or written
  if (!st) return st;
  st = engine::check_workspace(workspace, workspace_bytes, p.ws, "decode");
  if (!st) return st;

  float* ws = static_cast<float*>(workspace);
  p.ws.arm(ws);
  const int B = p.shape.batch, Lq = p.shape.q_len, hd = L.head_dim, E = L.embed_dim;
  // 1. Q (head-major, scaled), K and V (staged row-major) of the new tokens in one GEMM.
  engine::Projection qkv = p.qkv;
  qkv.a = a.query;
  qkv.in = engine::seq_strides(a.layout, B, Lq, E);
  qkv.bind_workspace(ws);
  qkv.bind(0, {ws + p.q, hd, 1, hd, static_cast<std::ptrdiff_t>(Lq) * hd, L.bq.get(), L.scale},
           static_cast<std::ptrdiff_t>(Lq) * E);
  const std::ptrdiff_t stage_step = static_cast<std::ptrdiff_t>(Lq) * L.kv_width;
  qkv.bind(1, {ws + p.k_stage, L.kv_width, 1, L.kv_width, 0, L.bk.get(), 1.0f}, stage_step);
  qkv.bind(2, {ws + p.v_stage, L.kv_width, 1, L.kv_width, 0, L.bv.get(), 1.0f}, stage_step);
  const engine::Projection* stage[] = {&qkv};
  engine::run_projections(stage, 1, exec);

  // 2. The new keys and values into the cache.
  st = cache->append(ws + p.k_stage, ws + p.v_stage, Lq, AttentionLayout::bsd);
  if (!st) return st;

  // 3. The new queries over everything cached, into the concatenated heads.
  engine::HeadSources s = cache_sources(c);
  s.q = ws + p.q;
  s.q_head = static_cast<std::ptrdiff_t>(Lq) * hd;
  s.q_batch = s.q_head * L.num_heads;
  s.out = ws + p.concat;
  s.out_batch = static_cast<std::ptrdiff_t>(Lq) * E;
  s.out_head = hd;
  s.out_row = E;
  engine::attend(p.attn, c.stored(), s, cache_masks(c, Lq, 0.0f), ws, exec);

  // 4. Output projection.
  project_output(L, p.out, ws, ws + p.concat, a, exec);
  return p.ws.verify(ws);
}

// ---------------------------------------------------------------- public entry points

Status Layer::plan_decode(const KvCache& cache, const Shape& shape, int num_threads,
                          Plan* out) const {
  if (!out) return Status::error(StatusCode::null_pointer, "plan is null");
  std::unique_ptr<PlanImpl> impl = PlanImpl::make(PlanKind::layer_decode, impl_.get());
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory making a plan");
  Status st = edgeattn::plan_decode(*impl_, detail::Access::impl(cache)->geo, shape, num_threads,
                                    &impl->decode);
  if (!st) return st;
  impl->finish(impl->decode.ws, num_threads);
  detail::Access::set(out, std::move(impl));
  return Status();
}

Status Layer::decode(const Plan& plan, const RunArgs& args, KvCache* cache, void* workspace,
                     std::size_t workspace_bytes, const Executor& executor) const {
  const PlanImpl* p = nullptr;
  Status st = PlanImpl::check(plan, PlanKind::layer_decode, impl_.get(), &p);
  if (!st) return st;
  return decode_planned(*impl_, p->decode, args, cache, workspace, workspace_bytes, executor);
}

Status Layer::decode_workspace_size(const KvCache& cache, const Shape& shape, int num_threads,
                                    std::size_t* bytes) const {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  LayerDecodePlan p;
  Status st =
      edgeattn::plan_decode(*impl_, detail::Access::impl(cache)->geo, shape, num_threads, &p);
  if (st) *bytes = p.ws.bytes();
  return st;
}

Status Layer::decode(const RunArgs& args, KvCache* cache, void* workspace,
                     std::size_t workspace_bytes, const Executor& executor) const {
  if (!cache) return Status::error(StatusCode::null_pointer, "decode: cache is null");
  const Shape stated{args.shape.batch, args.shape.q_len, args.shape.q_len};
  Status st = validate_decode_args(*impl_, args, stated);
  if (!st) return st;
  LayerDecodePlan p;
  st = edgeattn::plan_decode(*impl_, detail::Access::impl(*cache)->geo, stated,
                             executor.num_threads(), &p);
  if (!st) return st;
  return decode_planned(*impl_, p, args, cache, workspace, workspace_bytes, executor);
}

}  // namespace edgeattn
