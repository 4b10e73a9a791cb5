// KV cache internals shared by kv_cache.cpp (the cache, the core API over it) and run.cpp
// (Layer::decode).
#pragma once

#include <cstddef>

#include "edgeattn/edgeattn.hpp"
#include "kernel_table.hpp"
#include "layer_impl.hpp"

namespace edgeattn {

struct KvCache::Impl {
  int B = 0, G = 0, D = 0, Dv = 0, capacity = 0, window = 0;
  std::size_t kv_ld = 0;  // Kᵀ row length: capacity rounded up to 48 (every port's NR divides it)
  std::size_t kt_offset = 0, v_offset = 0;  // in floats from `memory`
  float* memory = nullptr;
  AlignedFloats owned;
  long long length = 0;  // positions appended since the last reset

  int stored() const { return length < capacity ? static_cast<int>(length) : capacity; }
  int slot(long long pos) const { return static_cast<int>(window > 0 ? pos % capacity : pos); }
  float* kt_of(int b, int g) const {
    return memory + kt_offset + (static_cast<std::size_t>(b) * G + g) * D * kv_ld;
  }
  float* v_of(int b, int g) const {
    return memory + v_offset + (static_cast<std::size_t>(b) * G + g) * capacity * Dv;
  }
  // Whether n more positions fit (the error leaves the cache unchanged).
  Status check_append(int n) const;
  // Copies n new positions of kv head (b, g) into their slots; then commit(n) once for all heads.
  void write_head(const float* k, const float* v, int n, AttentionLayout layout, int b, int g) const;
  void commit(int n) { length += n; }
};

// Where output row (b, head h, query i) of a cached attention goes.
struct CachedOutput {
  float* base = nullptr;
  std::ptrdiff_t batch = 0, head = 0, row = 0;
};

// Workspace floats attend_cached needs (beyond Q) for q_heads × q_len queries and `threads`.
std::size_t cached_attention_floats(const KvCache::Impl& c, const KernelTable& k, int q_heads, int q_len,
                                    int threads);
// The newest q_len positions' queries — head-major, pre-scaled Q [batch][q_heads][q_len][D] — to
// every cached position. q_len = 1 takes the split-KV path (fixed chunks, fixed merge order).
void attend_cached(const KvCache::Impl& c, const KernelTable& k, const float* q, int q_heads, int q_len,
                   float softcap, const CachedOutput& out, float* scratch, const Executor& exec);

}  // namespace edgeattn
