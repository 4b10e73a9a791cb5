// The KV cache: creation (its memory laid out for the attention kernels, see kv_cache_impl.hpp),
// append, truncate, reset. Attention over it is in cached_attention.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>

#include "access.hpp"
#include "kernels/gemm.hpp"
#include "kernels/gemm_int8.hpp"
#include "kv_cache/kv_cache_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {

namespace {

struct CacheLayout {
  std::size_t kv_ld = 0, kt = 0, v = 0, total_elems = 0, elem_size = 4;
  std::size_t k_scale = 0, v_scale = 0, total_bytes = 0;  // bytes; scales: int8 only
};

Status validate_spec(const KvCacheSpec& s, CacheLayout* out) {
  if (s.batch < 1 || s.kv_heads < 1 || s.head_dim < 1 || s.capacity < 1 || s.v_head_dim < 0 ||
      s.window < 0)
    return Status::error(
        StatusCode::invalid_argument,
        "KV cache: batch, kv_heads, head_dim and capacity must be >= 1 and v_head_dim, "
        "window >= 0, got %d, %d, %d, %d, %d, %d",
        s.batch, s.kv_heads, s.head_dim, s.capacity, s.v_head_dim, s.window);
  if (s.element_type != ElementType::f32 && s.element_type != ElementType::f16 &&
      s.element_type != ElementType::int8)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache: element_type must be f32, f16 or int8, got %s (%d)",
                         element_type_name(s.element_type), static_cast<int>(s.element_type));
  out->elem_size = element_size(s.element_type);
  if (s.window > s.capacity)
    return Status::error(StatusCode::invalid_argument, "KV cache: window %d exceeds capacity %d",
                         s.window, s.capacity);
  const int dv = s.v_head_dim ? s.v_head_dim : s.head_dim;
  SizeAccumulator acc;
  // Padded for every port of the build: the cache exists before a port is chosen.
  out->kv_ld = engine::kt_row_floats_any_port(static_cast<std::size_t>(s.capacity));
  const std::size_t BG = static_cast<std::size_t>(s.batch) * static_cast<std::size_t>(s.kv_heads);
  out->kt = acc.add({BG, static_cast<std::size_t>(s.head_dim), out->kv_ld});
  out->v = acc.add({BG, static_cast<std::size_t>(s.capacity), static_cast<std::size_t>(dv)});
  acc.add({engine::v_slack_floats_any_port()});  // elements, read and ignored past V
  out->total_elems = acc.total();
  if (acc.overflowed() || !checked_mul(out->total_elems, out->elem_size, &out->total_bytes))
    return Status::error(StatusCode::size_overflow, "KV cache size overflows");
  if (s.element_type == ElementType::int8) {  // K and V scales per (batch, kv head, slot)
    SizeAccumulator scales;                   // in floats, after the elements
    const std::size_t first = round_up(out->total_bytes, 64) / sizeof(float);
    scales.add({first});
    out->k_scale = scales.add({BG, static_cast<std::size_t>(s.capacity)}) * sizeof(float);
    out->v_scale = scales.add({BG, static_cast<std::size_t>(s.capacity)}) * sizeof(float);
    if (scales.overflowed() || !checked_mul(scales.total(), sizeof(float), &out->total_bytes))
      return Status::error(StatusCode::size_overflow, "KV cache size overflows");
  }
  return Status();
}

}  // namespace

Status kv_cache_bytes(const KvCacheSpec& spec, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  CacheLayout l;
  Status st = validate_spec(spec, &l);
  if (st) *bytes = l.total_bytes;
  return st;
}

KvCache::KvCache(std::unique_ptr<detail::KvCacheImpl> impl) : impl_(std::move(impl)) {}
KvCache::~KvCache() = default;

Status KvCache::create(const KvCacheSpec& spec, std::unique_ptr<KvCache>* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "out is null");
  CacheLayout l;
  Status st = validate_spec(spec, &l);
  if (!st) return st;
  auto impl = std::unique_ptr<KvCacheImpl>(new (std::nothrow) KvCacheImpl);
  if (!impl) return Status::error(StatusCode::out_of_memory, "KV cache: out of memory");
  impl->geo = {spec.batch,
               spec.kv_heads,
               spec.head_dim,
               spec.v_head_dim ? spec.v_head_dim : spec.head_dim,
               spec.capacity,
               spec.window,
               static_cast<int>(spec.element_type)};
  impl->kv_ld = l.kv_ld;
  impl->kt_offset = l.kt;
  impl->v_offset = l.v;
  impl->k_scale_offset = l.k_scale;
  impl->v_scale_offset = l.v_scale;
  const std::size_t bytes = l.total_bytes;
  if (spec.memory) {
    if (reinterpret_cast<std::uintptr_t>(spec.memory) % kWorkspaceAlignment != 0)
      return Status::error(StatusCode::invalid_argument, "KV cache memory must be %zu-byte aligned",
                           kWorkspaceAlignment);
    if (spec.memory_bytes < bytes)
      return Status::error(StatusCode::workspace_too_small,
                           "KV cache memory has %zu bytes, the spec needs %zu", spec.memory_bytes,
                           bytes);
    impl->memory = spec.memory;
  } else {
    impl->owned = allocate_floats((bytes + sizeof(float) - 1) / sizeof(float));
    if (!impl->owned)
      return Status::error(StatusCode::out_of_memory, "KV cache: cannot allocate %zu bytes", bytes);
    impl->memory = impl->owned.get();
  }
  // Defined contents: the padding columns of Kᵀ are read (and ignored) by the micro-kernel.
  std::memset(impl->memory, 0, bytes);
  out->reset(new (std::nothrow) KvCache(std::move(impl)));
  if (!*out) return Status::error(StatusCode::out_of_memory, "KV cache: out of memory");
  return Status();
}

int KvCache::batch() const { return impl_->geo.batch; }
int KvCache::kv_heads() const { return impl_->geo.kv_heads; }
int KvCache::head_dim() const { return impl_->geo.head_dim; }
int KvCache::v_head_dim() const { return impl_->geo.v_dim; }
int KvCache::capacity() const { return impl_->geo.capacity; }
int KvCache::window() const { return impl_->geo.window; }
ElementType KvCache::element_type() const { return static_cast<ElementType>(impl_->geo.kv_type); }
long long KvCache::length() const { return impl_->length; }
int KvCache::stored() const { return impl_->stored(); }
void KvCache::reset() { impl_->length = 0; }

Status KvCache::truncate(long long length) {
  if (impl_->geo.window > 0)
    return Status::error(StatusCode::unsupported,
                         "KV cache: truncate is not available with a sliding window");
  if (length < 0 || length > impl_->length)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache: cannot truncate %lld positions to %lld", impl_->length, length);
  impl_->length = length;
  return Status();
}

Status KvCacheImpl::check_append(int n) const {
  const int capacity = geo.capacity, window = geo.window;
  if (n < 0)
    return Status::error(StatusCode::invalid_argument, "KV cache: cannot append %d positions", n);
  if (window == 0 && length + n > capacity)
    return Status::error(StatusCode::invalid_argument,
                         "KV cache full: it holds %lld of %d positions and cannot take %d more",
                         length, capacity, n);
  if (window > 0 && n > capacity - window + 1)
    return Status::error(
        StatusCode::invalid_argument,
        "KV cache: a sliding window of %d in a ring of %d takes at most %d positions per "
        "append, got %d",
        window, capacity, capacity - window + 1, n);
  return Status();
}

namespace {

// Copies n new positions of kv head (b, g) into their slots (Kᵀ transposed, V as rows), as
// elements of E (fp32, or f16 rounded to nearest even).
template <class E>
void write_head(const KvCacheImpl& c, const float* k, const float* v, int n, AttentionLayout layout,
                int b, int g) {
  using T = typename E::Stored;
  const CacheGeometry& geo = c.geo;
  bool overflow = false;  // checked before any write (append)
  T* kt = static_cast<T*>(c.memory) + c.kt_offset +
          (static_cast<std::size_t>(b) * geo.kv_heads + g) * geo.head_dim * c.kv_ld;
  T* vv = static_cast<T*>(c.memory) + c.v_offset +
          (static_cast<std::size_t>(b) * geo.kv_heads + g) * geo.capacity * geo.v_dim;
  for (int j = 0; j < n; ++j) {
    const std::size_t row = layout == AttentionLayout::bhsd
                                ? (static_cast<std::size_t>(b) * geo.kv_heads + g) * n + j
                                : (static_cast<std::size_t>(b) * n + j) * geo.kv_heads + g;
    const float* krow = k + row * geo.head_dim;
    const float* vrow = v + row * geo.v_dim;
    const int s = c.slot(c.length + j);
    for (int d = 0; d < geo.head_dim; ++d)
      kt[static_cast<std::size_t>(d) * c.kv_ld + s] = E::from_f32(krow[d], &overflow);
    T* vs = vv + static_cast<std::size_t>(s) * geo.v_dim;
    for (int d = 0; d < geo.v_dim; ++d) vs[d] = E::from_f32(vrow[d], &overflow);
  }
}

// int8: each new position's key and value rows of kv head (b, g) quantized on their own
// (symmetric, scale amax / 127 per row, the rule of gemm_int8.hpp), Kᵀ transposed.
void write_head_int8(const KvCacheImpl& c, const float* k, const float* v, int n,
                     AttentionLayout layout, int b, int g) {
  const CacheGeometry& geo = c.geo;
  const std::size_t bg = static_cast<std::size_t>(b) * geo.kv_heads + g;
  auto* base = static_cast<unsigned char*>(c.memory);
  auto* kt = reinterpret_cast<std::int8_t*>(base) + c.kt_offset + bg * geo.head_dim * c.kv_ld;
  auto* vv = reinterpret_cast<std::int8_t*>(base) + c.v_offset + bg * geo.capacity * geo.v_dim;
  auto* ks = reinterpret_cast<float*>(base + c.k_scale_offset) + bg * geo.capacity;
  auto* vs = reinterpret_cast<float*>(base + c.v_scale_offset) + bg * geo.capacity;
  auto quantize = [](const float* x, int width, auto&& store) {
    float amax = 0.0f;
    for (int d = 0; d < width; ++d) amax = std::max(amax, std::fabs(x[d]));
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int d = 0; d < width; ++d) store(d, kernels::quantize_value(x[d], inv));
    return amax / 127.0f;
  };
  for (int j = 0; j < n; ++j) {
    const std::size_t row = layout == AttentionLayout::bhsd
                                ? bg * n + j
                                : (static_cast<std::size_t>(b) * n + j) * geo.kv_heads + g;
    const int s = c.slot(c.length + j);
    ks[s] = quantize(k + row * geo.head_dim, geo.head_dim, [&](int d, std::int8_t q) {
      kt[static_cast<std::size_t>(d) * c.kv_ld + s] = q;
    });
    std::int8_t* vrow = vv + static_cast<std::size_t>(s) * geo.v_dim;
    vs[s] = quantize(v + row * geo.v_dim, geo.v_dim, [&](int d, std::int8_t q) { vrow[d] = q; });
  }
}

// The index of the first of the n new positions' keys, then values, for which `refused` holds
// (a value the cache's type cannot hold), or -1.
template <class Refused>
long long first_refused(const KvCacheImpl& c, const float* k, const float* v, int n,
                        Refused refused) {
  const CacheGeometry& geo = c.geo;
  const std::size_t rows = static_cast<std::size_t>(geo.batch) * geo.kv_heads * n;
  const float* arrays[2] = {k, v};
  const std::size_t widths[2] = {static_cast<std::size_t>(geo.head_dim),
                                 static_cast<std::size_t>(geo.v_dim)};
  for (int a = 0; a < 2; ++a)
    for (std::size_t i = 0; i < rows * widths[a]; ++i)
      if (refused(arrays[a][i])) return static_cast<long long>(i);
  return -1;
}

}  // namespace

Status KvCache::append(const float* k, const float* v, int n, AttentionLayout layout) {
  if (layout != AttentionLayout::bhsd && layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d",
                         static_cast<int>(layout));
  Status st = impl_->check_append(n);
  if (!st) return st;
  if (n > 0 && (!k || !v))
    return Status::error(StatusCode::null_pointer, "KV cache append: k or v is null");
  const bool f16 = impl_->geo.kv_type == static_cast<int>(ElementType::f16);
  const bool int8 = impl_->geo.kv_type == static_cast<int>(ElementType::int8);
  if (int8 && n > 0) {
    const long long bad = first_refused(*impl_, k, v, n, [](float x) { return !std::isfinite(x); });
    if (bad >= 0)
      return Status::error(StatusCode::invalid_argument,
                           "KV cache append: a key or value (element %lld) is not finite, which "
                           "the int8 cache cannot hold; nothing appended",
                           bad);
  }
  if (f16 && n > 0) {
    const long long bad = first_refused(*impl_, k, v, n, kernels::f16_overflows);
    if (bad >= 0)
      return Status::error(StatusCode::invalid_argument,
                           "KV cache append: a key or value (element %lld) is too large for the "
                           "f16 cache (|x| >= 65520); nothing appended",
                           bad);
  }
  for (int b = 0; b < impl_->geo.batch; ++b)
    for (int g = 0; g < impl_->geo.kv_heads; ++g)
      (int8  ? write_head_int8
       : f16 ? write_head<kernels::ElemF16>
             : write_head<kernels::ElemF32>)(*impl_, k, v, n, layout, b, g);
  impl_->length += n;
  return Status();
}

}  // namespace edgeattn
