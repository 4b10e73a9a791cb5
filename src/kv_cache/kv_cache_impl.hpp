// A KV cache's state, and the geometry plans are made for. kv_cache.cpp keeps the cache;
// cached_attention.cpp attends over it; Layer::decode appends through the public KvCache::append
// and attends through the same engine stage as cached attention.
#pragma once

#include <cstddef>

#include "aligned_buffer.hpp"
#include "edgeattn/edgeattn.hpp"
#include "engine/attention.hpp"

namespace edgeattn {

// What a plan over a cache depends on: caches of equal geometry share plans.
struct CacheGeometry {
  int batch = 0, kv_heads = 0, head_dim = 0, v_dim = 0, capacity = 0, window = 0;
  int kv_type = 0;  // element type of Kᵀ and V (ElementType's value): f32, f16 or int8
  bool operator==(const CacheGeometry& o) const {
    return batch == o.batch && kv_heads == o.kv_heads && head_dim == o.head_dim &&
           v_dim == o.v_dim && capacity == o.capacity && window == o.window && kv_type == o.kv_type;
  }
};

// Per (batch, kv head) Kᵀ [head_dim][kv_ld] and V [capacity][v_dim] — what the attention
// kernels read — so a step reads each cached key and value once and copies nothing. Position p
// lives in slot p (or p mod capacity in sliding-window mode, a ring). An int8 cache also keeps
// one fp32 scale per (batch, kv head, slot) for K and for V.
struct detail::KvCacheImpl {
  CacheGeometry geo;
  std::size_t kv_ld = 0;  // Kᵀ row length: capacity padded for every port of the build
  std::size_t kt_offset = 0, v_offset = 0;             // in elements from `memory`
  std::size_t k_scale_offset = 0, v_scale_offset = 0;  // int8: in bytes from `memory`
  void* memory = nullptr;                              // elements of geo.kv_type
  AlignedFloats owned;
  long long length = 0;  // positions appended since the last reset

  int stored() const { return length < geo.capacity ? static_cast<int>(length) : geo.capacity; }
  int slot(long long pos) const {
    return static_cast<int>(geo.window > 0 ? pos % geo.capacity : pos);
  }
  Status check_append(int n) const;  // whether n more positions fit
};
using KvCacheImpl = detail::KvCacheImpl;

// The cache as the attention engine reads it: Kᵀ and V of every (batch, kv head), and the
// masks its positions imply for the newest q_len queries (causal inside the block; with a
// sliding window, the window's positions up to each query).
engine::HeadSources cache_sources(const KvCacheImpl& c);
engine::MaskSource cache_masks(const KvCacheImpl& c, int q_len, float softcap);

// The attention stage of a cached-attention plan (dims: the cache's geometry, q_heads, q_len;
// keys: the capacity; path split_kv when q_len = 1, else tiles).
void plan_cached_attention(const CacheGeometry& geo, const KernelTable& k, int q_heads, int q_len,
                           int threads, engine::WorkspaceLayout* ws, engine::AttentionPlan* plan);

}  // namespace edgeattn
