// The C API: thin conversions onto the C++ objects. The C handles are the C++ objects.
#include "edgeattn/edgeattn.h"

#include <cstdio>
#include <cstring>
#include <new>

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

namespace {

edgeattn_status c_error(edgeattn_status_code code, const char* msg) {
  edgeattn_status out;
  out.code = code;
  std::snprintf(out.message, sizeof(out.message), "%s", msg);
  return out;
}

edgeattn_status to_c(const edgeattn::Status& s) {
  return c_error(static_cast<edgeattn_status_code>(s.code()), s.message());
}

edgeattn::AttentionArgs to_cpp(const edgeattn_attention_args& c) {
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

edgeattn::KvCacheSpec to_cpp(const edgeattn_kv_cache_spec& c) {
  edgeattn::KvCacheSpec s;
  s.batch = c.batch;
  s.kv_heads = c.kv_heads;
  s.head_dim = c.head_dim;
  s.v_head_dim = c.v_head_dim;
  s.capacity = c.capacity;
  s.window = c.window;
  s.memory = c.memory;
  s.memory_bytes = c.memory_bytes;
  return s;
}

edgeattn::CachedAttentionArgs to_cpp(const edgeattn_cached_attention_args& c) {
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

}  // namespace

namespace {
// (outside extern "C": a template cannot have C linkage)
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
}  // namespace

extern "C" {

void edgeattn_attention_args_init(edgeattn_attention_args* args) {
  if (!args) return;
  std::memset(args, 0, sizeof(*args));
  args->batch = 1;
  args->mask_rank = 2;
  args->mask_sense = EDGEATTN_BOOL_ATTENDS_IF_TRUE;
}

edgeattn_status edgeattn_attention_workspace_size(const edgeattn_attention_args* args,
                                                  int num_threads, size_t* bytes) {
  if (!args) return c_error(EDGEATTN_NULL_POINTER, "args is null");
  return to_c(edgeattn::attention_workspace_size(to_cpp(*args), num_threads, bytes));
}

edgeattn_status edgeattn_attention(const edgeattn_attention_args* args, void* workspace,
                                   size_t workspace_bytes, const edgeattn_executor* executor) {
  if (!args) return c_error(EDGEATTN_NULL_POINTER, "args is null");
  if (!executor) return c_error(EDGEATTN_NULL_POINTER, "executor is null");
  return to_c(edgeattn::attention(to_cpp(*args), workspace, workspace_bytes, executor->executor));
}

const char* edgeattn_version(void) { return edgeattn::version(); }

void edgeattn_layer_spec_init(edgeattn_layer_spec* spec) {
  if (spec) std::memset(spec, 0, sizeof(*spec));
}

void edgeattn_run_args_init(edgeattn_run_args* args) {
  if (!args) return;
  std::memset(args, 0, sizeof(*args));
  args->batch = 1;
  args->attn_mask_rank = 2;
}

edgeattn_status edgeattn_layer_create(const edgeattn_layer_spec* c, edgeattn_layer** out) {
  if (!c || !out) return c_error(EDGEATTN_NULL_POINTER, "spec or out is null");
  *out = nullptr;
  edgeattn::LayerSpec s;
  s.embed_dim = c->embed_dim;
  s.num_heads = c->num_heads;
  s.num_kv_heads = c->num_kv_heads;
  s.kdim = c->kdim;
  s.vdim = c->vdim;
  s.weight_layout = static_cast<edgeattn::WeightLayout>(c->weight_layout);
  s.weights = {c->q_weight, c->k_weight, c->v_weight, c->out_weight, c->q_bias,
               c->k_bias,   c->v_bias,   c->out_bias, c->bias_k,     c->bias_v};
  if (c->has_scale) s.scale = c->scale;
  s.max_batch = c->max_batch;
  s.max_q_len = c->max_q_len;
  s.max_kv_len = c->max_kv_len;
  s.num_threads = c->num_threads;
  edgeattn_layer* handle = new (std::nothrow) edgeattn_layer();
  if (!handle) return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  edgeattn::Status st = edgeattn::Layer::create(s, &handle->layer);
  if (!st) {
    delete handle;
    return to_c(st);
  }
  *out = handle;
  return to_c(st);
}

void edgeattn_layer_destroy(edgeattn_layer* layer) { delete layer; }

edgeattn_status edgeattn_layer_workspace_size(const edgeattn_layer* layer, int batch, int q_len,
                                              int kv_len, int num_threads, size_t* bytes) {
  if (!layer) return c_error(EDGEATTN_NULL_POINTER, "layer is null");
  return to_c(layer->layer->workspace_size({batch, q_len, kv_len}, num_threads, bytes));
}

static edgeattn::RunArgs to_cpp(const edgeattn_run_args& c) {
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

edgeattn_status edgeattn_layer_run(const edgeattn_layer* layer, const edgeattn_run_args* args,
                                   void* workspace, size_t workspace_bytes,
                                   const edgeattn_executor* executor) {
  if (!layer || !args || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "layer, args or executor is null");
  return to_c(layer->layer->run(to_cpp(*args), workspace, workspace_bytes, executor->executor));
}

edgeattn_status edgeattn_layer_run_owned(edgeattn_layer* layer, const edgeattn_run_args* args) {
  if (!layer || !args) return c_error(EDGEATTN_NULL_POINTER, "layer or args is null");
  return to_c(layer->layer->run(to_cpp(*args)));
}

edgeattn_executor* edgeattn_executor_create(int num_threads) {
#if defined(__cpp_exceptions)
  try {
    return new (std::nothrow) edgeattn_executor(num_threads);
  } catch (...) {  // oneTBB may throw while creating its arena
    return nullptr;
  }
#else
  return new (std::nothrow) edgeattn_executor(num_threads);
#endif
}

void edgeattn_executor_destroy(edgeattn_executor* executor) { delete executor; }

int edgeattn_executor_num_threads(const edgeattn_executor* executor) {
  return executor ? executor->executor.num_threads() : 0;
}

// ---- KV cache and decoding

void edgeattn_kv_cache_spec_init(edgeattn_kv_cache_spec* spec) {
  if (!spec) return;
  std::memset(spec, 0, sizeof(*spec));
  spec->batch = 1;
}

edgeattn_status edgeattn_kv_cache_bytes(const edgeattn_kv_cache_spec* spec, size_t* bytes) {
  if (!spec) return c_error(EDGEATTN_NULL_POINTER, "spec is null");
  return to_c(edgeattn::kv_cache_bytes(to_cpp(*spec), bytes));
}

edgeattn_status edgeattn_kv_cache_create(const edgeattn_kv_cache_spec* spec,
                                         edgeattn_kv_cache** out) {
  if (!spec || !out) return c_error(EDGEATTN_NULL_POINTER, "spec or out is null");
  *out = nullptr;
  auto handle = std::unique_ptr<edgeattn_kv_cache>(new (std::nothrow) edgeattn_kv_cache);
  if (!handle) return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  const edgeattn::Status st = edgeattn::KvCache::create(to_cpp(*spec), &handle->cache);
  if (st) *out = handle.release();
  return to_c(st);
}

void edgeattn_kv_cache_destroy(edgeattn_kv_cache* cache) { delete cache; }

edgeattn_status edgeattn_kv_cache_append(edgeattn_kv_cache* cache, const float* k, const float* v,
                                         int n, edgeattn_attention_layout layout) {
  if (!cache) return c_error(EDGEATTN_NULL_POINTER, "cache is null");
  return to_c(cache->cache->append(k, v, n, static_cast<edgeattn::AttentionLayout>(layout)));
}

void edgeattn_kv_cache_reset(edgeattn_kv_cache* cache) {
  if (cache) cache->cache->reset();
}

long long edgeattn_kv_cache_length(const edgeattn_kv_cache* cache) {
  return cache ? cache->cache->length() : 0;
}

edgeattn_status edgeattn_cached_attention_workspace_size(const edgeattn_kv_cache* cache,
                                                         const edgeattn_cached_attention_args* args,
                                                         int num_threads, size_t* bytes) {
  if (!cache || !args) return c_error(EDGEATTN_NULL_POINTER, "cache or args is null");
  return to_c(edgeattn::attention_workspace_size(*cache->cache, to_cpp(*args), num_threads, bytes));
}

edgeattn_status edgeattn_cached_attention(const edgeattn_kv_cache* cache,
                                          const edgeattn_cached_attention_args* args,
                                          void* workspace, size_t workspace_bytes,
                                          const edgeattn_executor* executor) {
  if (!cache || !args || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "cache, args or executor is null");
  return to_c(edgeattn::attention(*cache->cache, to_cpp(*args), workspace, workspace_bytes,
                                  executor->executor));
}

edgeattn_status edgeattn_layer_decode_workspace_size(const edgeattn_layer* layer,
                                                     const edgeattn_kv_cache* cache, int batch,
                                                     int q_len, int num_threads, size_t* bytes) {
  if (!layer || !cache) return c_error(EDGEATTN_NULL_POINTER, "layer or cache is null");
  return to_c(
      layer->layer->decode_workspace_size(*cache->cache, {batch, q_len, 0}, num_threads, bytes));
}

edgeattn_status edgeattn_layer_decode(const edgeattn_layer* layer, const edgeattn_run_args* args,
                                      edgeattn_kv_cache* cache, void* workspace,
                                      size_t workspace_bytes, const edgeattn_executor* executor) {
  if (!layer || !args || !cache || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "layer, args, cache or executor is null");
  return to_c(layer->layer->decode(to_cpp(*args), cache->cache.get(), workspace, workspace_bytes,
                                   executor->executor));
}

// ---- Plans

void edgeattn_plan_destroy(edgeattn_plan* plan) { delete plan; }

size_t edgeattn_plan_workspace_size(const edgeattn_plan* plan) {
  return plan ? plan->plan.workspace_size() : 0;
}

edgeattn_status edgeattn_layer_plan(const edgeattn_layer* layer, int batch, int q_len, int kv_len,
                                    int num_threads, edgeattn_plan** out) {
  if (!layer) return c_error(EDGEATTN_NULL_POINTER, "layer is null");
  return make_plan(out, [&](edgeattn::Plan* p) {
    return layer->layer->plan({batch, q_len, kv_len}, num_threads, p);
  });
}

edgeattn_status edgeattn_layer_run_planned(const edgeattn_layer* layer, const edgeattn_plan* plan,
                                           const edgeattn_run_args* args, void* workspace,
                                           size_t workspace_bytes,
                                           const edgeattn_executor* executor) {
  if (!layer || !plan || !args || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "layer, plan, args or executor is null");
  return to_c(
      layer->layer->run(plan->plan, to_cpp(*args), workspace, workspace_bytes, executor->executor));
}

edgeattn_status edgeattn_layer_plan_decode(const edgeattn_layer* layer,
                                           const edgeattn_kv_cache* cache, int batch, int q_len,
                                           int num_threads, edgeattn_plan** out) {
  if (!layer || !cache) return c_error(EDGEATTN_NULL_POINTER, "layer or cache is null");
  return make_plan(out, [&](edgeattn::Plan* p) {
    return layer->layer->plan_decode(*cache->cache, {batch, q_len, 0}, num_threads, p);
  });
}

edgeattn_status edgeattn_layer_decode_planned(const edgeattn_layer* layer,
                                              const edgeattn_plan* plan,
                                              const edgeattn_run_args* args,
                                              edgeattn_kv_cache* cache, void* workspace,
                                              size_t workspace_bytes,
                                              const edgeattn_executor* executor) {
  if (!layer || !plan || !args || !cache || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "layer, plan, args, cache or executor is null");
  return to_c(layer->layer->decode(plan->plan, to_cpp(*args), cache->cache.get(), workspace,
                                   workspace_bytes, executor->executor));
}

edgeattn_status edgeattn_attention_plan(const edgeattn_attention_args* args, int num_threads,
                                        edgeattn_plan** out) {
  if (!args) return c_error(EDGEATTN_NULL_POINTER, "args is null");
  return make_plan(out, [&](edgeattn::Plan* p) {
    return edgeattn::plan_attention(to_cpp(*args), num_threads, p);
  });
}

edgeattn_status edgeattn_attention_planned(const edgeattn_plan* plan,
                                           const edgeattn_attention_args* args, void* workspace,
                                           size_t workspace_bytes,
                                           const edgeattn_executor* executor) {
  if (!plan || !args || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "plan, args or executor is null");
  return to_c(edgeattn::attention(plan->plan, to_cpp(*args), workspace, workspace_bytes,
                                  executor->executor));
}

edgeattn_status edgeattn_cached_attention_plan(const edgeattn_kv_cache* cache,
                                               const edgeattn_cached_attention_args* args,
                                               int num_threads, edgeattn_plan** out) {
  if (!cache || !args) return c_error(EDGEATTN_NULL_POINTER, "cache or args is null");
  return make_plan(out, [&](edgeattn::Plan* p) {
    return edgeattn::plan_attention(*cache->cache, to_cpp(*args), num_threads, p);
  });
}

edgeattn_status edgeattn_cached_attention_planned(const edgeattn_plan* plan,
                                                  const edgeattn_kv_cache* cache,
                                                  const edgeattn_cached_attention_args* args,
                                                  void* workspace, size_t workspace_bytes,
                                                  const edgeattn_executor* executor) {
  if (!plan || !cache || !args || !executor)
    return c_error(EDGEATTN_NULL_POINTER, "plan, cache, args or executor is null");
  return to_c(edgeattn::attention(plan->plan, *cache->cache, to_cpp(*args), workspace,
                                  workspace_bytes, executor->executor));
}

}  // extern "C"
