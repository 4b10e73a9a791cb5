// The C API: thin conversions onto the C++ objects (layer, executor, attention core).
#include "c_api_internal.hpp"

#include <algorithm>

#include "layer/layer_impl.hpp"

using namespace edgeattn::c_api;

// C++ helpers stay outside the extern "C" block (a C-linkage function may not return a C++
// type).
namespace {
edgeattn::LayerSpec to_cpp_spec(const edgeattn_layer_spec* c) {
  edgeattn::LayerSpec s;
  s.embed_dim = c->embed_dim;
  s.num_heads = c->num_heads;
  s.num_kv_heads = c->num_kv_heads;
  s.kdim = c->kdim;
  s.vdim = c->vdim;
  s.weight_layout = static_cast<edgeattn::WeightLayout>(c->weight_layout);
  s.weights = {c->q_weight,
               c->k_weight,
               c->v_weight,
               c->out_weight,
               c->q_bias,
               c->k_bias,
               c->v_bias,
               c->out_bias,
               c->bias_k,
               c->bias_v,
               static_cast<edgeattn::ElementType>(c->weight_element_type)};
  s.weight_type = static_cast<edgeattn::ElementType>(c->weight_type);
  s.int8_outliers = {c->int8_outlier_inputs, c->int8_outlier_inputs_count, c->int8_outlier_heads,
                     c->int8_outlier_heads_count};
  if (c->has_scale) s.scale = c->scale;
  s.max_batch = c->max_batch;
  s.max_q_len = c->max_q_len;
  s.max_kv_len = c->max_kv_len;
  s.num_threads = c->num_threads;
  return s;
}

edgeattn_status wrap_layer(edgeattn_layer* handle, const edgeattn::Status& st,
                           edgeattn_layer** out) {
  if (!st) {
    delete handle;
    return to_c(st);
  }
  *out = handle;
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
  const edgeattn::LayerSpec s = to_cpp_spec(c);
  edgeattn_layer* handle = new (std::nothrow) edgeattn_layer();
  if (!handle) return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  return wrap_layer(handle, edgeattn::Layer::create(s, &handle->layer), out);
}

edgeattn_status edgeattn_layer_create_packed(const void* blob, size_t size, edgeattn_layer** out) {
  if (!out) return c_error(EDGEATTN_NULL_POINTER, "out is null");
  *out = nullptr;
  edgeattn_layer* handle = new (std::nothrow) edgeattn_layer();
  if (!handle) return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  return wrap_layer(handle, edgeattn::Layer::create_packed(blob, size, &handle->layer), out);
}

edgeattn_status edgeattn_packed_size(const edgeattn_layer_spec* spec, const char* port,
                                     size_t* bytes) {
  if (!spec) return c_error(EDGEATTN_NULL_POINTER, "spec is null");
  return to_c(edgeattn::packed_size(to_cpp_spec(spec), port, bytes));
}

edgeattn_status edgeattn_pack(const edgeattn_layer_spec* spec, const char* port, void* blob,
                              size_t size) {
  if (!spec) return c_error(EDGEATTN_NULL_POINTER, "spec is null");
  return to_c(edgeattn::pack(to_cpp_spec(spec), port, blob, size));
}

void edgeattn_layer_destroy(edgeattn_layer* layer) { delete layer; }

edgeattn_status edgeattn_layer_calibrate_int8(const edgeattn_layer* layer,
                                              const edgeattn_run_args* args, float* inputs_amax,
                                              size_t inputs_count, float* heads_amax,
                                              size_t heads_count) {
  if (!layer || !args || !inputs_amax || !heads_amax)
    return c_error(EDGEATTN_NULL_POINTER, "layer, args, inputs_amax or heads_amax is null");
  const edgeattn::Layer& L = *layer->layer;
  const auto input_width = static_cast<std::size_t>(std::min({L.embed_dim(), L.kdim(), L.vdim()}));
  const auto heads_width = static_cast<std::size_t>(L.embed_dim());
  if (inputs_count != input_width || heads_count != heads_width)
    return to_c(edgeattn::Status::error(
        edgeattn::StatusCode::shape_mismatch,
        "calibration arrays of %zu input and %zu head features, this layer has %zu and %zu",
        inputs_count, heads_count, input_width, heads_width));
#if defined(__cpp_exceptions)
  try {
#endif
    edgeattn::Int8Calibration stats;
    stats.inputs_amax.assign(inputs_amax, inputs_amax + inputs_count);
    stats.heads_amax.assign(heads_amax, heads_amax + heads_count);
    const edgeattn::Status st = L.calibrate_int8(to_cpp(*args), &stats);
    if (st) {
      std::copy(stats.inputs_amax.begin(), stats.inputs_amax.end(), inputs_amax);
      std::copy(stats.heads_amax.begin(), stats.heads_amax.end(), heads_amax);
    }
    return to_c(st);
#if defined(__cpp_exceptions)
  } catch (const std::bad_alloc&) {
    return c_error(EDGEATTN_OUT_OF_MEMORY, "out of memory");
  }
#endif
}

edgeattn_status edgeattn_int8_top_features(const float* amax, size_t count, int n, int* features,
                                           int* written) {
  if (!amax || !features || !written)
    return c_error(EDGEATTN_NULL_POINTER, "amax, features or written is null");
  *written = edgeattn::int8_top_features(amax, count, n, features);
  return to_c(edgeattn::Status());
}

size_t edgeattn_layer_weight_bytes(const edgeattn_layer* layer) {
  return layer ? layer->layer->weight_bytes() : 0;
}

edgeattn_status edgeattn_layer_workspace_size(const edgeattn_layer* layer, int batch, int q_len,
                                              int kv_len, int num_threads, size_t* bytes) {
  if (!layer) return c_error(EDGEATTN_NULL_POINTER, "layer is null");
  return to_c(layer->layer->workspace_size({batch, q_len, kv_len}, num_threads, bytes));
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

}  // extern "C"
