// The KV cache, and attention over it (for the core API and for Layer::decode).
//
// Layout: per (batch, kv head) Kᵀ [head_dim][kv_ld] and V [capacity][v_dim] — what the
// attention kernels read — so a step reads each cached key and value once and copies nothing.
// Position p lives in slot p (or p mod capacity in sliding-window mode, a ring). The decode step
// (one query) splits the cached positions into chunks of kDecodeChunk keys: one task per
// (batch, head, chunk) leaves a partial softmax state, one task per (batch, head) merges them
// in chunk order. The chunking depends on the length only, never on the thread count, so the
// result is bitwise the same for any number of threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "executor.hpp"
#include "kv_cache_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {

namespace {

constexpr int kDecodeChunk = 256;
constexpr std::size_t kVSlackFloats = 64;  // the micro-kernel reads up to NR columns past V's last row

struct CacheLayout {
  std::size_t kv_ld = 0, kt = 0, v = 0, total_floats = 0;
};

Status validate_spec(const KvCacheSpec& s, CacheLayout* out) {
  if (s.batch < 1 || s.kv_heads < 1 || s.head_dim < 1 || s.capacity < 1 || s.v_head_dim < 0 || s.window < 0)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache: batch, kv_heads, head_dim and capacity must be >= 1 and v_head_dim, "
                         "window >= 0, got %d, %d, %d, %d, %d, %d",
                         s.batch, s.kv_heads, s.head_dim, s.capacity, s.v_head_dim, s.window);
  if (s.window > s.capacity)
    return Status::error(StatusCode::invalid_argument, "KV cache: window %d exceeds capacity %d", s.window,
                         s.capacity);
  const int dv = s.v_head_dim ? s.v_head_dim : s.head_dim;
  SizeAccumulator acc;
  out->kv_ld = round_up(static_cast<std::size_t>(s.capacity), 48);
  const std::size_t BG = static_cast<std::size_t>(s.batch) * static_cast<std::size_t>(s.kv_heads);
  out->kt = acc.add({BG, static_cast<std::size_t>(s.head_dim), out->kv_ld});
  out->v = acc.add({BG, static_cast<std::size_t>(s.capacity), static_cast<std::size_t>(dv)});
  acc.add({kVSlackFloats});
  out->total_floats = acc.total();
  if (acc.overflowed() || !checked_mul(out->total_floats, sizeof(float), nullptr))
    return Status::error(StatusCode::size_overflow, "KV cache size overflows");
  return Status();
}

}  // namespace

Status kv_cache_bytes(const KvCacheSpec& spec, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  CacheLayout l;
  Status st = validate_spec(spec, &l);
  if (st) *bytes = l.total_floats * sizeof(float);
  return st;
}

KvCache::KvCache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvCache::~KvCache() = default;

Status KvCache::create(const KvCacheSpec& spec, std::unique_ptr<KvCache>* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "out is null");
  CacheLayout l;
  Status st = validate_spec(spec, &l);
  if (!st) return st;
  auto impl = std::unique_ptr<Impl>(new (std::nothrow) Impl);
  if (!impl) return Status::error(StatusCode::out_of_memory, "KV cache: out of memory");
  impl->B = spec.batch;
  impl->G = spec.kv_heads;
  impl->D = spec.head_dim;
  impl->Dv = spec.v_head_dim ? spec.v_head_dim : spec.head_dim;
  impl->capacity = spec.capacity;
  impl->window = spec.window;
  impl->kv_ld = l.kv_ld;
  impl->kt_offset = l.kt;
  impl->v_offset = l.v;
  const std::size_t bytes = l.total_floats * sizeof(float);
  if (spec.memory) {
    if (reinterpret_cast<std::uintptr_t>(spec.memory) % kWorkspaceAlignment != 0)
      return Status::error(StatusCode::invalid_argument, "KV cache memory must be %zu-byte aligned",
                           kWorkspaceAlignment);
    if (spec.memory_bytes < bytes)
      return Status::error(StatusCode::workspace_too_small, "KV cache memory has %zu bytes, the spec needs %zu",
                           spec.memory_bytes, bytes);
    impl->memory = static_cast<float*>(spec.memory);
  } else {
    impl->owned = allocate_floats(l.total_floats);
    if (!impl->owned) return Status::error(StatusCode::out_of_memory, "KV cache: cannot allocate %zu bytes", bytes);
    impl->memory = impl->owned.get();
  }
  // Defined contents: the padding columns of Kᵀ are read (and ignored) by the micro-kernel.
  std::memset(impl->memory, 0, bytes);
  out->reset(new (std::nothrow) KvCache(std::move(impl)));
  if (!*out) return Status::error(StatusCode::out_of_memory, "KV cache: out of memory");
  return Status();
}

int KvCache::batch() const { return impl_->B; }
int KvCache::kv_heads() const { return impl_->G; }
int KvCache::head_dim() const { return impl_->D; }
int KvCache::v_head_dim() const { return impl_->Dv; }
int KvCache::capacity() const { return impl_->capacity; }
int KvCache::window() const { return impl_->window; }
long long KvCache::length() const { return impl_->length; }
int KvCache::stored() const { return impl_->stored(); }
void KvCache::reset() { impl_->length = 0; }

Status KvCache::truncate(long long length) {
  if (impl_->window > 0)
    return Status::error(StatusCode::unsupported, "KV cache: truncate is not available with a sliding window");
  if (length < 0 || length > impl_->length)
    return Status::error(StatusCode::invalid_argument, "KV cache: cannot truncate %lld positions to %lld",
                         impl_->length, length);
  impl_->length = length;
  return Status();
}

Status KvCache::Impl::check_append(int n) const {
  if (n < 0) return Status::error(StatusCode::invalid_argument, "KV cache: cannot append %d positions", n);
  if (window == 0 && length + n > capacity)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache full: it holds %lld of %d positions and cannot take %d more", length,
                         capacity, n);
  if (window > 0 && n > capacity - window + 1)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache: a sliding window of %d in a ring of %d takes at most %d positions per "
                         "append, got %d",
                         window, capacity, capacity - window + 1, n);
  return Status();
}

void KvCache::Impl::write_head(const float* k, const float* v, int n, AttentionLayout layout, int b,
                               int g) const {
  float* kt = kt_of(b, g);
  float* vv = v_of(b, g);
  for (int j = 0; j < n; ++j) {
    const std::size_t row = layout == AttentionLayout::bhsd
                                ? (static_cast<std::size_t>(b) * G + g) * n + j
                                : (static_cast<std::size_t>(b) * n + j) * G + g;
    const float* krow = k + row * D;
    const float* vrow = v + row * Dv;
    const int s = slot(length + j);
    for (int d = 0; d < D; ++d) kt[static_cast<std::size_t>(d) * kv_ld + s] = krow[d];
    std::copy(vrow, vrow + Dv, vv + static_cast<std::size_t>(s) * Dv);
  }
}

Status KvCache::append(const float* k, const float* v, int n, AttentionLayout layout) {
  if (layout != AttentionLayout::bhsd && layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d", static_cast<int>(layout));
  Status st = impl_->check_append(n);
  if (!st) return st;
  if (n > 0 && (!k || !v)) return Status::error(StatusCode::null_pointer, "KV cache append: k or v is null");
  for (int b = 0; b < impl_->B; ++b)
    for (int g = 0; g < impl_->G; ++g) impl_->write_head(k, v, n, layout, b, g);
  impl_->commit(n);
  return Status();
}

// ---------------------------------------------------------------- attention over a cache

namespace {

struct CachedContext {
  const KvCache::Impl* c = nullptr;
  const KernelTable* k = nullptr;
  const float* q = nullptr;
  int Hq = 0, q_len = 0, stored = 0, chunks = 0, q_tiles = 0;
  float softcap = 0.0f;
  CachedOutput out;
  float* states = nullptr;  // split path: [B][Hq][chunks][2 + Dv]
  float* slots = nullptr;   // per-thread scratch
  std::size_t per_slot = 0;
  KernelTable::AttendTile attend_tile = nullptr;

  kernels::HeadView head_view(int b, int h) const {
    const int g = h / (Hq / c->G);
    kernels::HeadView v;
    v.q = q + (static_cast<std::size_t>(b) * Hq + h) * q_len * c->D;
    v.kt = c->kt_of(b, g);
    v.v = c->v_of(b, g);
    v.kv_ld = static_cast<std::ptrdiff_t>(c->kv_ld);
    v.q_len = q_len;
    v.kv_total = stored;
    v.head_dim = c->D;
    v.v_dim = c->Dv;
    v.out = out.base + b * out.batch + h * out.head;
    v.out_ld = out.row;
    return v;
  }
  kernels::MaskView mask_view() const {
    kernels::MaskView m;
    m.kv_len = stored;
    m.causal = true;
    m.softcap = softcap;
    if (c->window > 0) {
      m.ring_capacity = c->capacity;
      m.ring_newest_slot = c->slot(c->length - 1);
      m.query_age0 = q_len - 1;
      m.window = c->window;
    } else {
      m.causal_offset = stored - q_len;
    }
    return m;
  }
};

void partial_task(void* p, std::size_t t, int slot) {
  const CachedContext& x = *static_cast<const CachedContext*>(p);
  const int chunk = static_cast<int>(t % x.chunks);
  const std::size_t bh = t / x.chunks;
  const int h = static_cast<int>(bh % x.Hq), b = static_cast<int>(bh / x.Hq);
  const int j0 = chunk * kDecodeChunk, j1 = std::min(x.stored, j0 + kDecodeChunk);
  x.k->attend_row_partial(x.head_view(b, h), x.mask_view(), 0, j0, j1,
                          x.slots + static_cast<std::size_t>(slot) * x.per_slot,
                          x.states + t * (2 + static_cast<std::size_t>(x.c->Dv)));
}

void merge_task(void* p, std::size_t t, int /*slot*/) {
  const CachedContext& x = *static_cast<const CachedContext*>(p);
  const int h = static_cast<int>(t % x.Hq), b = static_cast<int>(t / x.Hq);
  const std::size_t stride = 2 + static_cast<std::size_t>(x.c->Dv);
  kernels::merge_partials(x.states + t * x.chunks * stride, x.chunks, x.c->Dv,
                          x.out.base + b * x.out.batch + h * x.out.head);
}

void tile_task(void* p, std::size_t t, int slot) {
  const CachedContext& x = *static_cast<const CachedContext*>(p);
  const int qt = static_cast<int>(t % x.q_tiles);
  const std::size_t bh = t / x.q_tiles;
  const int h = static_cast<int>(bh % x.Hq), b = static_cast<int>(bh / x.Hq);
  const int tq = x.k->attn_tq, i0 = qt * tq;
  x.attend_tile(x.head_view(b, h), x.mask_view(), i0, std::min(tq, x.q_len - i0),
                x.slots + static_cast<std::size_t>(slot) * x.per_slot);
}

int chunk_count(int stored) { return (stored + kDecodeChunk - 1) / kDecodeChunk; }

}  // namespace

std::size_t cached_attention_floats(const KvCache::Impl& c, const KernelTable& k, int q_heads, int q_len,
                                    int threads) {
  const std::size_t slots = static_cast<std::size_t>(std::max(1, threads));
  if (q_len == 1) {
    const std::size_t states = static_cast<std::size_t>(c.B) * q_heads * chunk_count(c.capacity) * (2 + c.Dv);
    return round_up(states, 16) + slots * round_up(kDecodeChunk, 16);
  }
  return slots * round_up(k.attend_scratch_floats(c.Dv), 16);
}

void attend_cached(const KvCache::Impl& c, const KernelTable& k, const float* q, int q_heads, int q_len,
                   float softcap, const CachedOutput& out, float* scratch, const Executor& exec) {
  CachedContext x;
  x.c = &c;
  x.k = &k;
  x.q = q;
  x.Hq = q_heads;
  x.q_len = q_len;
  x.stored = c.stored();
  x.softcap = softcap;
  x.out = out;
  const std::size_t BH = static_cast<std::size_t>(c.B) * q_heads;
  if (q_len == 1) {
    x.chunks = chunk_count(x.stored);
    x.states = scratch;
    x.slots = scratch + round_up(BH * chunk_count(c.capacity) * (2 + c.Dv), 16);
    x.per_slot = round_up(kDecodeChunk, 16);
    exec.impl().parallel_for(BH * x.chunks, partial_task, &x);
    exec.impl().parallel_for(BH, merge_task, &x);
    return;
  }
  x.q_tiles = (q_len + k.attn_tq - 1) / k.attn_tq;
  x.slots = scratch;
  x.per_slot = round_up(k.attend_scratch_floats(c.Dv), 16);
  x.attend_tile = k.attend_tile_for(c.D, c.Dv);
  exec.impl().parallel_for(BH * x.q_tiles, tile_task, &x);
}

// ---------------------------------------------------------------- the core API over a cache

namespace {

struct CachedPlan {
  std::size_t q = 0, scratch = 0, total_floats = 0;
};

Status validate_cached(const KvCache& cache, const CachedAttentionArgs& a, const KernelTable** k,
                       CachedPlan* plan, int threads) {
  const KvCache::Impl& c = cache.impl();
  if (a.layout != AttentionLayout::bhsd && a.layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d", static_cast<int>(a.layout));
  if (a.q_heads < 1 || a.q_heads % c.G != 0)
    return Status::error(StatusCode::invalid_argument, "q_heads (%d) must be a positive multiple of the cache's kv_heads (%d)",
                         a.q_heads, c.G);
  if (a.q_len < 1 || a.q_len > c.stored())
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: the queries are the newest positions of the cache, which holds %d "
                         "(append their keys and values first)",
                         a.q_len, c.stored());
  if (c.window > 0 && a.q_len > c.capacity - c.window + 1)
    return Status::error(StatusCode::invalid_argument,
                         "q_len %d: a sliding window of %d in a ring of %d serves at most %d queries at once",
                         a.q_len, c.window, c.capacity, c.capacity - c.window + 1);
  if (a.scale && !std::isfinite(*a.scale)) return Status::error(StatusCode::invalid_argument, "scale must be finite");
  if (!std::isfinite(a.softcap) || a.softcap < 0.0f)
    return Status::error(StatusCode::invalid_argument, "softcap must be finite and >= 0");
  char err[160];
  *k = select_port(a.port, err, sizeof(err));
  if (!*k) return Status::error(StatusCode::unsupported, "%s", err);
  SizeAccumulator acc;
  plan->q = acc.add({static_cast<std::size_t>(c.B), static_cast<std::size_t>(a.q_heads),
                     static_cast<std::size_t>(a.q_len), static_cast<std::size_t>(c.D)});
  plan->scratch = acc.add({cached_attention_floats(c, **k, a.q_heads, a.q_len, threads)});
  plan->total_floats = acc.total();
  if (acc.overflowed()) return Status::error(StatusCode::size_overflow, "workspace size overflows");
  return Status();
}

struct ScaleQContext {
  const KvCache::Impl* c;
  const CachedAttentionArgs* a;
  float* q;
  float scale;
};

void scale_q_task(void* p, std::size_t t, int /*slot*/) {
  const ScaleQContext& x = *static_cast<const ScaleQContext*>(p);
  const int Hq = x.a->q_heads, Lq = x.a->q_len, D = x.c->D;
  const int b = static_cast<int>(t / Hq), h = static_cast<int>(t % Hq);
  float* dst = x.q + t * Lq * D;
  for (int i = 0; i < Lq; ++i) {
    const float* src = x.a->layout == AttentionLayout::bhsd
                           ? x.a->q + (t * Lq + i) * D
                           : x.a->q + (static_cast<std::size_t>(b) * Lq + i) * Hq * D + static_cast<std::size_t>(h) * D;
    for (int d = 0; d < D; ++d) dst[static_cast<std::size_t>(i) * D + d] = src[d] * x.scale;
  }
}

}  // namespace

Status attention_workspace_size(const KvCache& cache, const CachedAttentionArgs& args, int num_threads,
                                std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  const KernelTable* k = nullptr;
  CachedPlan plan;
  Status st = validate_cached(cache, args, &k, &plan, std::max(1, num_threads));
  if (st) *bytes = plan.total_floats * sizeof(float);
  return st;
}

Status attention(const KvCache& cache, const CachedAttentionArgs& a, void* workspace, std::size_t workspace_bytes,
                 const Executor& exec) {
  const KernelTable* k = nullptr;
  CachedPlan plan;
  Status st = validate_cached(cache, a, &k, &plan, exec.num_threads());
  if (!st) return st;
  if (!a.q || !a.y) return Status::error(StatusCode::null_pointer, "q or y is null");
  if (!workspace) return Status::error(StatusCode::null_pointer, "workspace is null");
  if (reinterpret_cast<std::uintptr_t>(workspace) % kWorkspaceAlignment != 0)
    return Status::error(StatusCode::invalid_argument, "workspace must be %zu-byte aligned", kWorkspaceAlignment);
  if (workspace_bytes < plan.total_floats * sizeof(float))
    return Status::error(StatusCode::workspace_too_small, "workspace has %zu bytes, this call needs %zu",
                         workspace_bytes, plan.total_floats * sizeof(float));
  const KvCache::Impl& c = cache.impl();
  float* ws = static_cast<float*>(workspace);
  ScaleQContext sq{&c, &a, ws + plan.q, a.scale ? *a.scale : 1.0f / std::sqrt(static_cast<float>(c.D))};
  exec.impl().parallel_for(static_cast<std::size_t>(c.B) * a.q_heads, scale_q_task, &sq);
  CachedOutput out;
  out.base = a.y;
  if (a.layout == AttentionLayout::bhsd) {
    out.batch = static_cast<std::ptrdiff_t>(a.q_heads) * a.q_len * c.Dv;
    out.head = static_cast<std::ptrdiff_t>(a.q_len) * c.Dv;
    out.row = c.Dv;
  } else {
    out.batch = static_cast<std::ptrdiff_t>(a.q_len) * a.q_heads * c.Dv;
    out.head = c.Dv;
    out.row = static_cast<std::ptrdiff_t>(a.q_heads) * c.Dv;
  }
  attend_cached(c, *k, ws + plan.q, a.q_heads, a.q_len, a.softcap, out, ws + plan.scratch, exec);
  return Status();
}

}  // namespace edgeattn
