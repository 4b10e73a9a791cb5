// The C API's handles (the C++ objects behind the C names) and its conversions, shared by
// c_api.cpp (layer, executor, attention core) and c_api_cache.cpp (KV caches, decoding, plans).
#pragma once

#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "edgeattn/edgeattn.h"
#include "edgeattn/edgeattn.hpp"

struct edgeattn_layer {
  std::unique_ptr<edgeattn::Layer> layer;
};
struct edgeattn_kv_cache {
  std::unique_ptr<edgeattn::KvCache> cache;
};
struct edgeattn_plan {
  edgeattn::Plan plan;
};
struct edgeattn_executor {
  explicit edgeattn_executor(int n) : executor(n) {}
  edgeattn::Executor executor;
};

namespace edgeattn::c_api {

inline edgeattn_status c_error(edgeattn_status_code code, const char* msg) {
  edgeattn_status out;
  out.code = code;
  std::snprintf(out.message, sizeof(out.message), "%s", msg);
  return out;
}

inline edgeattn_status to_c(const edgeattn::Status& s) {
  return c_error(static_cast<edgeattn_status_code>(s.code()), s.message());
}

inline edgeattn::AttentionArgs to_cpp(const edgeattn_attention_args& c) {
  edgeattn::AttentionArgs a;
  a.layout = static_cast<edgeattn::AttentionLayout>(c.layout);
  a.batch = c.batch;
  a.q_heads = c.q_heads;
  a.kv_heads = c.kv_heads;
  a.q_len = c.q_len;
  a.kv_len = c.kv_len;
  a.past_len = c.past_len;
  a.head_dim = c.head_dim;
  a.v_head_dim = c.v_head_dim;
  a.q = c.q;
  a.k = c.k;
  a.v = c.v;
  a.past_key = c.past_key;
  a.past_value = c.past_value;
  a.mask.type = static_cast<edgeattn::MaskType>(c.mask_type);
  a.mask.data = c.mask;
  a.mask.rank = c.mask_rank;
  for (int i = 0; i < 4; ++i) a.mask.dims[i] = c.mask_dims[i];
  a.mask.sense = static_cast<edgeattn::BoolMaskSense>(c.mask_sense);
  a.nonpad_kv_seqlen = c.nonpad_kv_seqlen;
  a.causal = c.causal != 0;
  if (c.has_scale) a.scale = c.scale;
  a.softcap = c.softcap;
  a.y = c.y;
  a.present_key = c.present_key;
  a.present_value = c.present_value;
  a.qk_out = c.qk_out;
  a.qk_mode = static_cast<edgeattn::QkOutputMode>(c.qk_mode);
  return a;
}

inline edgeattn::KvCacheSpec to_cpp(const edgeattn_kv_cache_spec& c) {
  edgeattn::KvCacheSpec s;
  s.batch = c.batch;
  s.kv_heads = c.kv_heads;
  s.head_dim = c.head_dim;
  s.v_head_dim = c.v_head_dim;
  s.capacity = c.capacity;
  s.window = c.window;
  s.element_type = static_cast<ElementType>(c.element_type);
  s.memory = c.memory;
  s.memory_bytes = c.memory_bytes;
  return s;
}

inline edgeattn::CachedAttentionArgs to_cpp(const edgeattn_cached_attention_args& c) {
  edgeattn::CachedAttentionArgs a;
  a.layout = static_cast<edgeattn::AttentionLayout>(c.layout);
  a.q_heads = c.q_heads;
  a.q_len = c.q_len;
  a.q = c.q;
  a.y = c.y;
  if (c.has_scale) a.scale = c.scale;
  a.softcap = c.softcap;
  return a;
}

inline edgeattn::RunArgs to_cpp(const edgeattn_run_args& c) {
  edgeattn::RunArgs a;
  a.layout = static_cast<edgeattn::SequenceLayout>(c.layout);
  a.shape = {c.batch, c.q_len, c.kv_len};
  a.query = c.query;
  a.key = c.key;
  a.value = c.value;
  a.attn_mask.type = static_cast<edgeattn::MaskType>(c.attn_mask_type);
  a.attn_mask.data = c.attn_mask;
  a.attn_mask.rank = c.attn_mask_rank;
  for (int i = 0; i < 3; ++i) a.attn_mask.dims[i] = c.attn_mask_dims[i];
  a.attn_mask.sense = static_cast<edgeattn::BoolMaskSense>(c.attn_mask_sense);
  a.key_padding_mask.type = static_cast<edgeattn::MaskType>(c.key_padding_mask_type);
  a.key_padding_mask.data = c.key_padding_mask;
  a.key_padding_mask.dims[0] = c.key_padding_mask_dims[0];
  a.key_padding_mask.dims[1] = c.key_padding_mask_dims[1];
  a.key_padding_mask.sense = static_cast<edgeattn::BoolMaskSense>(c.key_padding_mask_sense);
  a.causal = c.causal != 0;
  a.output = c.output;
  a.attn_weights = static_cast<edgeattn::AttnWeightsOutput>(c.attn_weights);
  a.attn_weights_out = c.attn_weights_out;
  return a;
}

// Runs `make` on a fresh plan handle; on success hands it out.
template <class Make>
edgeattn_status make_plan(edgeattn_plan** out, Make make) {
  if (!out) return c_error(EDGEATTN_NULL_POINTER, "out is null");
  *out = nullptr;
  auto handle = std::unique_ptr<edgeattn_plan>(new (std::nothrow) edgeattn_plan);
  if (!handle) return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  const edgeattn::Status st = make(&handle->plan);
  if (st) *out = handle.release();
  return to_c(st);
}

}  // namespace edgeattn::c_api
