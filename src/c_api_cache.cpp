// The C API of KV caches, decoding and plans.
#include "c_api_internal.hpp"

using namespace edgeattn::c_api;

extern "C" {
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
