/* edgeattn — C API over the same objects as the C++ API (edgeattn.hpp).
 *
 * Handles are opaque. Every call that can fail returns an edgeattn_status holding a code
 * (EDGEATTN_OK = 0) and a message. Structs are zero-initialised with edgeattn_*_init() so that
 * fields added later get their defaults. */
#ifndef EDGEATTN_EDGEATTN_H
#define EDGEATTN_EDGEATTN_H

#include <stddef.h>
#include <stdint.h>

#include "edgeattn/version.h"

#if defined(_WIN32)
#define EDGEATTN_C_API
#else
#define EDGEATTN_C_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEATTN_WORKSPACE_ALIGNMENT 64
#define EDGEATTN_INT8_MAX_OUTLIERS 8 /* edgeattn.hpp's kInt8MaxOutliers */

typedef enum edgeattn_status_code {
  EDGEATTN_OK = 0,
  EDGEATTN_INVALID_ARGUMENT = 1,
  EDGEATTN_NULL_POINTER = 2,
  EDGEATTN_SHAPE_MISMATCH = 3,
  EDGEATTN_WORKSPACE_TOO_SMALL = 4,
  EDGEATTN_SIZE_OVERFLOW = 5,
  EDGEATTN_UNSUPPORTED = 6,
  EDGEATTN_OUT_OF_MEMORY = 7,
  EDGEATTN_INTERNAL = 8
} edgeattn_status_code;

typedef struct edgeattn_status {
  edgeattn_status_code code;
  char message[200];
} edgeattn_status;

typedef enum edgeattn_weight_layout {
  EDGEATTN_WEIGHTS_OUT_IN = 0, /* PyTorch [out, in], y = x W^T */
  EDGEATTN_WEIGHTS_IN_OUT = 1  /* textbook [in, out], y = x W */
} edgeattn_weight_layout;

typedef enum edgeattn_sequence_layout {
  EDGEATTN_BATCH_FIRST = 0, /* [batch, seq, features] */
  EDGEATTN_SEQ_FIRST = 1,   /* [seq, batch, features] */
  EDGEATTN_UNBATCHED = 2    /* [seq, features] */
} edgeattn_sequence_layout;

typedef enum edgeattn_mask_type {
  EDGEATTN_MASK_NONE = 0,
  EDGEATTN_MASK_ADDITIVE = 1, /* float, added to the scaled logits */
  EDGEATTN_MASK_BOOLEAN = 2   /* uint8 per element; see edgeattn_bool_mask_sense */
} edgeattn_mask_type;

typedef enum edgeattn_bool_mask_sense {
  EDGEATTN_BOOL_BLOCKS_IF_TRUE = 0, /* torch.nn.MultiheadAttention: true = may not attend */
  EDGEATTN_BOOL_ATTENDS_IF_TRUE = 1 /* ONNX Attention, torch SDPA: true = may attend */
} edgeattn_bool_mask_sense;

typedef enum edgeattn_attn_weights_output {
  EDGEATTN_WEIGHTS_NONE = 0,
  EDGEATTN_WEIGHTS_AVERAGED = 1, /* [batch, q_len, kv_total] */
  EDGEATTN_WEIGHTS_PER_HEAD = 2  /* [batch, heads, q_len, kv_total] */
} edgeattn_attn_weights_output;

typedef enum edgeattn_element_type {
  EDGEATTN_F32 = 0,
  EDGEATTN_F16 = 1,  /* IEEE binary16, as uint16_t bit patterns */
  EDGEATTN_BF16 = 2, /* bfloat16 (fp32's upper half), as uint16_t bit patterns */
  EDGEATTN_INT8 = 3, /* symmetric int8 with fp32 scales: packed weights and KV caches only */
  /* Not a type: makes the enum as wide as an int, so that any value a C caller stores is one
     the library may read (and refuse) without undefined behaviour in C++. */
  EDGEATTN_ELEMENT_TYPE_MAX_ENUM = 0x7fffffff
} edgeattn_element_type;

typedef struct edgeattn_layer_spec {
  int embed_dim, num_heads;
  int num_kv_heads; /* 0: num_heads */
  int kdim, vdim;   /* 0: embed_dim */
  edgeattn_weight_layout weight_layout;
  const void *q_weight, *k_weight, *v_weight, *out_weight; /* of weight_element_type */
  const float *q_bias, *k_bias, *v_bias, *out_bias;        /* each optional */
  const float *bias_k, *bias_v;                            /* optional, together */
  edgeattn_element_type weight_element_type;               /* the four matrices as given */
  edgeattn_element_type
      weight_type; /* the layer's packed weights (f16/bf16 halve them, int8 quarters) */
  /* int8 only: features kept out of int8 (edgeattn.hpp's Int8Outliers; at most
     EDGEATTN_INT8_MAX_OUTLIERS each, distinct), e.g. from edgeattn_layer_calibrate_int8 and
     edgeattn_int8_top_features. NULL with count 0: none. */
  const int* int8_outlier_inputs; /* of the query/key/value inputs (Wq, Wk, Wv) */
  int int8_outlier_inputs_count;
  const int* int8_outlier_heads; /* of the concatenated heads (Wo) */
  int int8_outlier_heads_count;
  int has_scale; /* 0: 1/sqrt(head_dim) */
  float scale;
  int max_batch, max_q_len, max_kv_len, num_threads; /* owned workspace; see edgeattn.hpp */
} edgeattn_layer_spec;

typedef struct edgeattn_run_args {
  edgeattn_sequence_layout layout;
  int batch, q_len, kv_len;         /* kv_len 0: q_len */
  const float *query, *key, *value; /* key = value = NULL: self-attention */
  edgeattn_mask_type attn_mask_type;
  const void* attn_mask;
  int attn_mask_rank; /* 2: [q_len, kv_len]; 3: [batch*heads, q_len, kv_len] */
  int attn_mask_dims[3];
  edgeattn_bool_mask_sense attn_mask_sense;
  edgeattn_mask_type key_padding_mask_type;
  const void* key_padding_mask; /* [batch, kv_len] */
  int key_padding_mask_dims[2];
  edgeattn_bool_mask_sense key_padding_mask_sense;
  int causal;
  float* output;
  edgeattn_attn_weights_output attn_weights;
  float* attn_weights_out;
} edgeattn_run_args;

typedef struct edgeattn_layer edgeattn_layer;
typedef struct edgeattn_executor edgeattn_executor;

EDGEATTN_C_API const char* edgeattn_version(void);
EDGEATTN_C_API void edgeattn_layer_spec_init(edgeattn_layer_spec* spec);
EDGEATTN_C_API void edgeattn_run_args_init(edgeattn_run_args* args);

EDGEATTN_C_API edgeattn_status edgeattn_layer_create(const edgeattn_layer_spec* spec,
                                                     edgeattn_layer** out);
EDGEATTN_C_API void edgeattn_layer_destroy(edgeattn_layer* layer);
/* Packed weight blobs (see edgeattn.hpp): port NULL is the port create() would choose here.
   The blob given to edgeattn_layer_create_packed is read in place: 64-byte aligned, it must
   outlive the layer. */
EDGEATTN_C_API edgeattn_status edgeattn_packed_size(const edgeattn_layer_spec* spec,
                                                    const char* port, size_t* bytes);
EDGEATTN_C_API edgeattn_status edgeattn_pack(const edgeattn_layer_spec* spec, const char* port,
                                             void* blob, size_t size);
EDGEATTN_C_API edgeattn_status edgeattn_layer_create_packed(const void* blob, size_t size,
                                                            edgeattn_layer** out);
/* int8 calibration (Layer::calibrate_int8): runs the layer forward on sample inputs (the output
   is written) and raises inputs_amax[f] (min(embed_dim, kdim, vdim) features) and
   heads_amax[f] (embed_dim features) to the largest |x| seen at the projections' inputs. Zero
   both arrays before the first batch; the counts must be those widths. Allocates. */
EDGEATTN_C_API edgeattn_status edgeattn_layer_calibrate_int8(const edgeattn_layer* layer,
                                                             const edgeattn_run_args* args,
                                                             float* inputs_amax,
                                                             size_t inputs_count, float* heads_amax,
                                                             size_t heads_count);
/* The n features of largest amax (n clamped to [0, EDGEATTN_INT8_MAX_OUTLIERS] and to count),
   largest first, ties to the lower index, written to features[]; *written says how many. */
EDGEATTN_C_API edgeattn_status edgeattn_int8_top_features(const float* amax, size_t count, int n,
                                                          int* features, int* written);
/* Bytes the layer holds for its weights (packed panels with padding, biases); 0 for NULL. */
EDGEATTN_C_API size_t edgeattn_layer_weight_bytes(const edgeattn_layer* layer);
EDGEATTN_C_API edgeattn_status edgeattn_layer_workspace_size(const edgeattn_layer* layer, int batch,
                                                             int q_len, int kv_len, int num_threads,
                                                             size_t* bytes);
/* workspace: EDGEATTN_WORKSPACE_ALIGNMENT-aligned, at least edgeattn_layer_workspace_size(). */
EDGEATTN_C_API edgeattn_status edgeattn_layer_run(const edgeattn_layer* layer,
                                                  const edgeattn_run_args* args, void* workspace,
                                                  size_t workspace_bytes,
                                                  const edgeattn_executor* executor);
/* Runs with the workspace and executor the layer owns (spec max_q_len > 0). */
EDGEATTN_C_API edgeattn_status edgeattn_layer_run_owned(edgeattn_layer* layer,
                                                        const edgeattn_run_args* args);

/* num_threads 0: all hardware threads. Returns NULL when out of memory. */
EDGEATTN_C_API edgeattn_executor* edgeattn_executor_create(int num_threads);
EDGEATTN_C_API void edgeattn_executor_destroy(edgeattn_executor* executor);
EDGEATTN_C_API int edgeattn_executor_num_threads(const edgeattn_executor* executor);

/* ---- Attention core (ONNX Attention semantics) on projected Q, K, V; see edgeattn.hpp ---- */
typedef enum edgeattn_attention_layout {
  EDGEATTN_LAYOUT_BHSD = 0, /* 4-D [batch, heads, seq, head_dim] */
  EDGEATTN_LAYOUT_BSD = 1   /* 3-D [batch, seq, heads*head_dim] */
} edgeattn_attention_layout;

typedef enum edgeattn_qk_output_mode {
  EDGEATTN_QK_SCALED = 0,     /* scale * Q K^T */
  EDGEATTN_QK_SOFTCAPPED = 1, /* after the softcap */
  EDGEATTN_QK_MASKED = 2,     /* after masks (blocked = -inf) */
  EDGEATTN_QK_SOFTMAX = 3     /* probabilities */
} edgeattn_qk_output_mode;

typedef struct edgeattn_attention_args {
  edgeattn_attention_layout layout;
  int batch, q_heads, kv_heads; /* kv_heads 0: q_heads */
  int q_len, kv_len, past_len;
  int head_dim, v_head_dim; /* v_head_dim 0: head_dim */
  const float *q, *k, *v;
  const float *past_key, *past_value; /* [batch, kv_heads, past_len, head_dim / v_head_dim] */
  edgeattn_mask_type mask_type;
  const void* mask;
  int mask_rank; /* 2, 3 or 4: broadcast to [batch, q_heads, q_len, past_len + kv_len] */
  int mask_dims[4];
  edgeattn_bool_mask_sense mask_sense; /* edgeattn_attention_args_init: ATTENDS_IF_TRUE (ONNX) */
  const int64_t* nonpad_kv_seqlen;     /* [batch] or NULL */
  int causal;
  int has_scale; /* 0: 1/sqrt(head_dim) */
  float scale;
  float softcap; /* 0: none */
  float* y;
  float *present_key, *present_value; /* optional, together */
  float* qk_out;                      /* optional [batch, q_heads, q_len, past_len + kv_len] */
  edgeattn_qk_output_mode qk_mode;
} edgeattn_attention_args;

EDGEATTN_C_API void edgeattn_attention_args_init(edgeattn_attention_args* args);
EDGEATTN_C_API edgeattn_status edgeattn_attention_workspace_size(
    const edgeattn_attention_args* args, int num_threads, size_t* bytes);
EDGEATTN_C_API edgeattn_status edgeattn_attention(const edgeattn_attention_args* args,
                                                  void* workspace, size_t workspace_bytes,
                                                  const edgeattn_executor* executor);

/* ---- KV cache and decoding; see edgeattn.hpp (KvCache, Layer::decode) ---- */
typedef struct edgeattn_kv_cache edgeattn_kv_cache;

typedef struct edgeattn_kv_cache_spec {
  int batch, kv_heads, head_dim, v_head_dim; /* v_head_dim 0: head_dim */
  int capacity;
  int window; /* 0: none; W: sliding window over a ring of `capacity` positions */
  edgeattn_element_type element_type; /* EDGEATTN_F32, EDGEATTN_F16 or EDGEATTN_INT8 */
  void* memory; /* caller memory (64-byte aligned) or NULL: allocated at create */
  size_t memory_bytes;
} edgeattn_kv_cache_spec;

typedef struct edgeattn_cached_attention_args {
  edgeattn_attention_layout layout;
  int q_heads, q_len;
  const float* q;
  float* y;
  int has_scale;
  float scale;
  float softcap;
} edgeattn_cached_attention_args;

EDGEATTN_C_API void edgeattn_kv_cache_spec_init(edgeattn_kv_cache_spec* spec);
EDGEATTN_C_API edgeattn_status edgeattn_kv_cache_bytes(const edgeattn_kv_cache_spec* spec,
                                                       size_t* bytes);
EDGEATTN_C_API edgeattn_status edgeattn_kv_cache_create(const edgeattn_kv_cache_spec* spec,
                                                        edgeattn_kv_cache** out);
EDGEATTN_C_API void edgeattn_kv_cache_destroy(edgeattn_kv_cache* cache);
EDGEATTN_C_API edgeattn_status edgeattn_kv_cache_append(edgeattn_kv_cache* cache, const float* k,
                                                        const float* v, int n,
                                                        edgeattn_attention_layout layout);
EDGEATTN_C_API void edgeattn_kv_cache_reset(edgeattn_kv_cache* cache);
EDGEATTN_C_API long long edgeattn_kv_cache_length(const edgeattn_kv_cache* cache);
EDGEATTN_C_API edgeattn_status edgeattn_cached_attention_workspace_size(
    const edgeattn_kv_cache* cache, const edgeattn_cached_attention_args* args, int num_threads,
    size_t* bytes);
EDGEATTN_C_API edgeattn_status edgeattn_cached_attention(const edgeattn_kv_cache* cache,
                                                         const edgeattn_cached_attention_args* args,
                                                         void* workspace, size_t workspace_bytes,
                                                         const edgeattn_executor* executor);
/* Layer::decode: args->query holds the new tokens (batch, q_len); key/value NULL. */
EDGEATTN_C_API edgeattn_status edgeattn_layer_decode_workspace_size(const edgeattn_layer* layer,
                                                                    const edgeattn_kv_cache* cache,
                                                                    int batch, int q_len,
                                                                    int num_threads, size_t* bytes);
EDGEATTN_C_API edgeattn_status edgeattn_layer_decode(const edgeattn_layer* layer,
                                                     const edgeattn_run_args* args,
                                                     edgeattn_kv_cache* cache, void* workspace,
                                                     size_t workspace_bytes,
                                                     const edgeattn_executor* executor);

/* ---- Plans: a run planned once for one shape and thread count (edgeattn::Plan). Runs with a
   plan do no planning; their sizes must be the plan's and their executor may have at most
   its threads. A plan must not outlive the layer it was made by. */
typedef struct edgeattn_plan edgeattn_plan;
EDGEATTN_C_API void edgeattn_plan_destroy(edgeattn_plan* plan);
EDGEATTN_C_API size_t edgeattn_plan_workspace_size(const edgeattn_plan* plan);
EDGEATTN_C_API edgeattn_status edgeattn_layer_plan(const edgeattn_layer* layer, int batch,
                                                   int q_len, int kv_len, int num_threads,
                                                   edgeattn_plan** out);
EDGEATTN_C_API edgeattn_status edgeattn_layer_run_planned(const edgeattn_layer* layer,
                                                          const edgeattn_plan* plan,
                                                          const edgeattn_run_args* args,
                                                          void* workspace, size_t workspace_bytes,
                                                          const edgeattn_executor* executor);
EDGEATTN_C_API edgeattn_status edgeattn_layer_plan_decode(const edgeattn_layer* layer,
                                                          const edgeattn_kv_cache* cache, int batch,
                                                          int q_len, int num_threads,
                                                          edgeattn_plan** out);
EDGEATTN_C_API edgeattn_status edgeattn_layer_decode_planned(
    const edgeattn_layer* layer, const edgeattn_plan* plan, const edgeattn_run_args* args,
    edgeattn_kv_cache* cache, void* workspace, size_t workspace_bytes,
    const edgeattn_executor* executor);
/* The attention core: sizes and options from args; of its pointers only qk_out is looked at. */
EDGEATTN_C_API edgeattn_status edgeattn_attention_plan(const edgeattn_attention_args* args,
                                                       int num_threads, edgeattn_plan** out);
EDGEATTN_C_API edgeattn_status edgeattn_attention_planned(const edgeattn_plan* plan,
                                                          const edgeattn_attention_args* args,
                                                          void* workspace, size_t workspace_bytes,
                                                          const edgeattn_executor* executor);
EDGEATTN_C_API edgeattn_status edgeattn_cached_attention_plan(
    const edgeattn_kv_cache* cache, const edgeattn_cached_attention_args* args, int num_threads,
    edgeattn_plan** out);
EDGEATTN_C_API edgeattn_status
edgeattn_cached_attention_planned(const edgeattn_plan* plan, const edgeattn_kv_cache* cache,
                                  const edgeattn_cached_attention_args* args, void* workspace,
                                  size_t workspace_bytes, const edgeattn_executor* executor);

#ifdef __cplusplus
}
#endif

#endif /* EDGEATTN_EDGEATTN_H */
