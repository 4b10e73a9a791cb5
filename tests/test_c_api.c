/* The C API from C: create, workspace size, run with a caller workspace and with the owned
 * one, and error statuses. With Wq = Wk = 0 every logit is equal, so each output row is the
 * mean of the value rows (Wv = Wo = I): a result checkable by hand. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeattn/edgeattn.h"

static int failures = 0;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

enum { E = 4, H = 2, L = 3 };

/* Runs an int8 `layer` with a workspace of its own into `out` and checks the result within
   int8's error of `want` (max |out - want| <= 0.02 max |want|); returns the workspace bytes. */
static size_t run_close_to(const edgeattn_layer* layer, edgeattn_run_args* args, float* out,
                           const float* want, const edgeattn_executor* exec, int threads) {
  size_t bytes = 0;
  float largest = 0.0f, worst = 0.0f;
  int i;
  edgeattn_status st = edgeattn_layer_workspace_size(layer, 1, L, L, threads, &bytes);
  CHECK(st.code == EDGEATTN_OK);
  void* ws = aligned_alloc(EDGEATTN_WORKSPACE_ALIGNMENT, (bytes + 63) / 64 * 64);
  args->output = out;
  st = edgeattn_layer_run(layer, args, ws, bytes, exec);
  CHECK(st.code == EDGEATTN_OK);
  free(ws);
  for (i = 0; i < L * E; ++i) {
    const float d = fabsf(out[i] - want[i]), m = fabsf(want[i]);
    if (d > worst) worst = d;
    if (m > largest) largest = m;
  }
  CHECK(worst <= 0.02f * largest);
  return bytes;
}

int main(void) {
  float zero[E * E] = {0}, eye[E * E] = {0};
  int i, j;
  for (i = 0; i < E; ++i) eye[i * E + i] = 1.0f;

  edgeattn_layer_spec spec;
  edgeattn_layer_spec_init(&spec);
  spec.embed_dim = E;
  spec.num_heads = H;
  spec.weight_layout = EDGEATTN_WEIGHTS_OUT_IN;
  spec.q_weight = zero;
  spec.k_weight = zero;
  spec.v_weight = eye;
  spec.out_weight = eye;

  edgeattn_layer* layer = NULL;
  edgeattn_status st = edgeattn_layer_create(&spec, &layer);
  CHECK(st.code == EDGEATTN_OK);
  CHECK(layer != NULL);
  CHECK(strlen(edgeattn_version()) > 0);

  float x[L * E];
  for (i = 0; i < L * E; ++i) x[i] = (float)(i % 7) - 2.0f;
  float y[L * E];
  edgeattn_run_args args;
  edgeattn_run_args_init(&args);
  args.layout = EDGEATTN_UNBATCHED;
  args.q_len = L;
  args.query = x;
  args.output = y;

  edgeattn_executor* exec = edgeattn_executor_create(2);
  const int threads = edgeattn_executor_num_threads(exec);
  CHECK(threads == EDGEATTN_TEST_EXPECTED_THREADS); /* 2 with oneTBB, 1 in serial builds */
  size_t bytes = 0;
  st = edgeattn_layer_workspace_size(layer, 1, L, L, threads, &bytes);
  CHECK(st.code == EDGEATTN_OK && bytes > 0);
  void* ws = aligned_alloc(EDGEATTN_WORKSPACE_ALIGNMENT, (bytes + 63) / 64 * 64);
  st = edgeattn_layer_run(layer, &args, ws, bytes, exec);
  CHECK(st.code == EDGEATTN_OK);
  for (j = 0; j < E; ++j) {
    float mean = 0.0f;
    for (i = 0; i < L; ++i) mean += x[i * E + j] / L;
    for (i = 0; i < L; ++i) CHECK(fabsf(y[i * E + j] - mean) < 1e-5f);
  }

  { /* The same weights given as f16 bit patterns (1.0 = 0x3c00), kept as bf16: exact values. */
    uint16_t zero16[E * E] = {0}, eye16[E * E] = {0};
    float y16[L * E];
    edgeattn_layer* layer16 = NULL;
    edgeattn_layer_spec spec16 = spec;
    for (i = 0; i < E; ++i) eye16[i * E + i] = 0x3c00;
    spec16.q_weight = zero16;
    spec16.k_weight = zero16;
    spec16.v_weight = eye16;
    spec16.out_weight = eye16;
    spec16.weight_element_type = EDGEATTN_F16;
    spec16.weight_type = EDGEATTN_BF16;
    st = edgeattn_layer_create(&spec16, &layer16);
    CHECK(st.code == EDGEATTN_OK);
    args.output = y16;
    st = edgeattn_layer_run(layer16, &args, ws, bytes, exec);
    CHECK(st.code == EDGEATTN_OK);
    CHECK(memcmp(y, y16, sizeof y) == 0);
    CHECK(edgeattn_layer_weight_bytes(layer16) < edgeattn_layer_weight_bytes(layer));
    CHECK(edgeattn_layer_weight_bytes(NULL) == 0);
    { /* int8 weights (quantized from the f16 ones): close to fp32 */
      edgeattn_layer* layer8 = NULL;
      float y8[L * E];
      spec16.weight_type = EDGEATTN_INT8;
      size_t bytes8 = 0;
      st = edgeattn_layer_create(&spec16, &layer8);
      CHECK(st.code == EDGEATTN_OK);
      args.output = y8;
      /* The workspace of the f32 layer is too small: int8 quantizes the rows into it too. */
      st = edgeattn_layer_run(layer8, &args, ws, bytes, exec);
      CHECK(st.code == EDGEATTN_WORKSPACE_TOO_SMALL);
      bytes8 = run_close_to(layer8, &args, y8, y, exec, threads);
      CHECK(bytes8 > bytes);
      CHECK(edgeattn_layer_weight_bytes(layer8) > 0); /* E is tiny here: scales dominate */
      edgeattn_layer_destroy(layer8);
    }
    { /* int8 calibration: per feature the largest |x| at the inputs; the top features go into
         an int8 layer's outlier lists (its output then as close to fp32 as without). */
      float inputs_amax[E] = {0}, heads_amax[E] = {0}, y8[L * E];
      int inputs[EDGEATTN_INT8_MAX_OUTLIERS], heads[EDGEATTN_INT8_MAX_OUTLIERS];
      int n_inputs = -1, n_heads = -1, nine[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
      edgeattn_layer* layer8 = NULL;
      args.output = y8;
      st = edgeattn_layer_calibrate_int8(layer, &args, inputs_amax, E, heads_amax, E);
      CHECK(st.code == EDGEATTN_OK);
      for (j = 0; j < E; ++j) {
        float want = 0.0f;
        for (i = 0; i < L; ++i) want = fabsf(x[i * E + j]) > want ? fabsf(x[i * E + j]) : want;
        CHECK(inputs_amax[j] == want);
        CHECK(heads_amax[j] > 0.0f);
      }
      CHECK(memcmp(y8, y, sizeof y) == 0); /* the run is the layer's */
      st = edgeattn_layer_calibrate_int8(layer, &args, inputs_amax, E - 1, heads_amax, E);
      CHECK(st.code == EDGEATTN_SHAPE_MISMATCH && strstr(st.message, "this layer has") != NULL);
      st = edgeattn_layer_calibrate_int8(layer, &args, NULL, E, heads_amax, E);
      CHECK(st.code == EDGEATTN_NULL_POINTER);
      { /* ties go to the lower index; NaN is never the largest; n is clamped */
        const float amax[5] = {1.0f, 3.0f, 3.0f, NAN, 2.0f};
        int top[EDGEATTN_INT8_MAX_OUTLIERS], n = -1;
        st = edgeattn_int8_top_features(amax, 5, 20, top, &n);
        CHECK(st.code == EDGEATTN_OK && n == 5);
        CHECK(top[0] == 1 && top[1] == 2 && top[2] == 4 && top[3] == 0 && top[4] == 3);
        st = edgeattn_int8_top_features(amax, 5, -1, top, &n);
        CHECK(st.code == EDGEATTN_OK && n == 0);
        CHECK(edgeattn_int8_top_features(NULL, 5, 1, top, &n).code == EDGEATTN_NULL_POINTER);
      }
      st = edgeattn_int8_top_features(inputs_amax, E, 1, inputs, &n_inputs);
      CHECK(st.code == EDGEATTN_OK && n_inputs == 1);
      st = edgeattn_int8_top_features(heads_amax, E, 2, heads, &n_heads);
      CHECK(st.code == EDGEATTN_OK && n_heads == 2);
      spec16.weight_type = EDGEATTN_INT8;
      spec16.int8_outlier_inputs = inputs;
      spec16.int8_outlier_inputs_count = n_inputs;
      spec16.int8_outlier_heads = heads;
      spec16.int8_outlier_heads_count = n_heads;
      st = edgeattn_layer_create(&spec16, &layer8);
      CHECK(st.code == EDGEATTN_OK);
      st = edgeattn_layer_run(layer8, &args, NULL, 0, exec);
      CHECK(st.code != EDGEATTN_OK); /* no workspace */
      run_close_to(layer8, &args, y8, y, exec, threads);
      edgeattn_layer_destroy(layer8);
      spec16.int8_outlier_inputs = nine; /* more than EDGEATTN_INT8_MAX_OUTLIERS */
      spec16.int8_outlier_inputs_count = 9;
      layer8 = NULL;
      st = edgeattn_layer_create(&spec16, &layer8);
      CHECK(st.code == EDGEATTN_INVALID_ARGUMENT && layer8 == NULL);
      spec16.int8_outlier_inputs = NULL;
      spec16.int8_outlier_inputs_count = 0;
      spec16.int8_outlier_heads = NULL;
      spec16.int8_outlier_heads_count = 0;
    }
    spec16.weight_type = (edgeattn_element_type)9;
    edgeattn_layer* bad = NULL;
    st = edgeattn_layer_create(&spec16, &bad);
    CHECK(st.code == EDGEATTN_INVALID_ARGUMENT && bad == NULL);
    edgeattn_layer_destroy(layer16);
    args.output = y;
  }
  { /* A packed blob of the same layer, loaded in place: the same output. */
    size_t blob_bytes = 0;
    float yp[L * E];
    edgeattn_layer* packed = NULL;
    CHECK(edgeattn_packed_size(&spec, NULL, &blob_bytes).code == EDGEATTN_OK);
    void* blob = aligned_alloc(64, (blob_bytes + 63) / 64 * 64);
    CHECK(edgeattn_pack(&spec, NULL, blob, blob_bytes - 1).code == EDGEATTN_WORKSPACE_TOO_SMALL);
    CHECK(edgeattn_pack(&spec, NULL, blob, blob_bytes).code == EDGEATTN_OK);
    CHECK(edgeattn_layer_create_packed(blob, blob_bytes - 8, &packed).code != EDGEATTN_OK);
    CHECK(packed == NULL);
    st = edgeattn_layer_create_packed(blob, blob_bytes, &packed);
    CHECK(st.code == EDGEATTN_OK);
    args.output = yp;
    st = edgeattn_layer_run(packed, &args, ws, bytes, exec);
    CHECK(st.code == EDGEATTN_OK);
    CHECK(memcmp(y, yp, sizeof y) == 0);
    edgeattn_layer_destroy(packed);
    free(blob);
    args.output = y;
  }

  /* The same run with a plan made once: the same bytes, the same output. */
  {
    edgeattn_plan* plan = NULL;
    float y2[L * E];
    st = edgeattn_layer_plan(layer, 1, L, L, threads, &plan);
    CHECK(st.code == EDGEATTN_OK && plan != NULL);
    CHECK(edgeattn_plan_workspace_size(plan) == bytes);
    args.output = y2;
    st = edgeattn_layer_run_planned(layer, plan, &args, ws, bytes, exec);
    CHECK(st.code == EDGEATTN_OK);
    CHECK(memcmp(y, y2, sizeof y) == 0);
    args.q_len = L - 1; /* not the plan's shape */
    st = edgeattn_layer_run_planned(layer, plan, &args, ws, bytes, exec);
    CHECK(st.code == EDGEATTN_SHAPE_MISMATCH);
    CHECK(strstr(st.message, "plan") != NULL);
    args.q_len = L;
    args.output = y;
    edgeattn_plan_destroy(plan);
    st = edgeattn_layer_plan(layer, 0, L, L, threads, &plan);
    CHECK(st.code == EDGEATTN_INVALID_ARGUMENT && plan == NULL);
  }

  /* Errors come back as codes with messages. */
  st = edgeattn_layer_run(layer, &args, ws, bytes - 4, exec);
  CHECK(st.code == EDGEATTN_WORKSPACE_TOO_SMALL);
  CHECK(strstr(st.message, "needs") != NULL);
  args.attn_mask_type = EDGEATTN_MASK_BOOLEAN;
  args.attn_mask = x;
  args.attn_mask_dims[0] = L;
  args.attn_mask_dims[1] = L + 1;
  st = edgeattn_layer_run(layer, &args, ws, bytes, exec);
  CHECK(st.code == EDGEATTN_SHAPE_MISMATCH);
  args.attn_mask_type = EDGEATTN_MASK_NONE;
  st = edgeattn_layer_run_owned(layer, &args);
  CHECK(st.code == EDGEATTN_INVALID_ARGUMENT);
  st = edgeattn_layer_run(NULL, &args, ws, bytes, exec);
  CHECK(st.code == EDGEATTN_NULL_POINTER);

  edgeattn_layer* bad = NULL;
  spec.num_heads = 3;
  st = edgeattn_layer_create(&spec, &bad);
  CHECK(st.code == EDGEATTN_INVALID_ARGUMENT);
  CHECK(bad == NULL);
  CHECK(strstr(st.message, "divide") != NULL);
  st = edgeattn_layer_create(NULL, &bad);
  CHECK(st.code == EDGEATTN_NULL_POINTER);

  /* The owned-workspace convenience path. */
  edgeattn_layer* owned = NULL;
  spec.num_heads = H;
  spec.max_q_len = 8;
  spec.num_threads = 1;
  st = edgeattn_layer_create(&spec, &owned);
  CHECK(st.code == EDGEATTN_OK);
  float y2[L * E];
  args.output = y2;
  st = edgeattn_layer_run_owned(owned, &args);
  CHECK(st.code == EDGEATTN_OK);
  CHECK(memcmp(y, y2, sizeof y) == 0);

  /* The attention core from C: grouped-query heads, a past cache, an ONNX boolean mask
   * (true = may attend) and causal, against a direct computation here. */
  {
    enum { AH = 4, AG = 2, AL = 3, AP = 2, AK = 3, AD = 4, AT = AP + AK };
    float q[AH * AL * AD], k[AG * AK * AD], v[AG * AK * AD], pk[AG * AP * AD], pv[AG * AP * AD];
    float yc[AH * AL * AD], present_k[AG * AT * AD], present_v[AG * AT * AD];
    uint8_t mask[AL * AT];
    for (int i = 0; i < AH * AL * AD; ++i) q[i] = (float)((i * 37) % 17) / 17.0f - 0.5f;
    for (int i = 0; i < AG * AK * AD; ++i) k[i] = (float)((i * 29) % 13) / 13.0f - 0.5f;
    for (int i = 0; i < AG * AK * AD; ++i) v[i] = (float)((i * 11) % 7) / 7.0f;
    for (int i = 0; i < AG * AP * AD; ++i) pk[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < AG * AP * AD; ++i) pv[i] = (float)((i * 3) % 5) / 5.0f;
    for (int i = 0; i < AL * AT; ++i) mask[i] = (uint8_t)(i % 4 != 1);
    edgeattn_attention_args aa;
    edgeattn_attention_args_init(&aa);
    CHECK(aa.mask_sense == EDGEATTN_BOOL_ATTENDS_IF_TRUE);
    aa.q_heads = AH;
    aa.kv_heads = AG;
    aa.q_len = AL;
    aa.kv_len = AK;
    aa.past_len = AP;
    aa.head_dim = AD;
    aa.q = q;
    aa.k = k;
    aa.v = v;
    aa.past_key = pk;
    aa.past_value = pv;
    aa.mask_type = EDGEATTN_MASK_BOOLEAN;
    aa.mask = mask;
    aa.mask_dims[0] = AL;
    aa.mask_dims[1] = AT;
    aa.causal = 1;
    aa.y = yc;
    aa.present_key = present_k;
    aa.present_value = present_v;
    size_t abytes = 0;
    st = edgeattn_attention_workspace_size(&aa, 2, &abytes);
    CHECK(st.code == EDGEATTN_OK);
    void* aws = aligned_alloc(EDGEATTN_WORKSPACE_ALIGNMENT, (abytes + 63) / 64 * 64);
    st = edgeattn_attention(&aa, aws, abytes, exec);
    CHECK(st.code == EDGEATTN_OK);
    for (int h = 0; h < AH; ++h)
      for (int i = 0; i < AL; ++i) {
        const int g = h / (AH / AG);
        double s[AT], mx = -1e300, sum = 0.0;
        for (int j = 0; j < AT; ++j) {
          const float* key = j < AP ? pk + (g * AP + j) * AD : k + (g * AK + j - AP) * AD;
          double dot = 0.0;
          for (int d = 0; d < AD; ++d) dot += (double)q[(h * AL + i) * AD + d] * key[d];
          const int allowed = mask[i * AT + j] && j <= i + AP;
          s[j] = allowed ? dot / 2.0 : -1e300; /* 1/sqrt(4) */
          if (s[j] > mx) mx = s[j];
        }
        for (int j = 0; j < AT; ++j) sum += (s[j] = s[j] <= -1e299 ? 0.0 : exp(s[j] - mx));
        for (int d = 0; d < AD; ++d) {
          double want = 0.0;
          for (int j = 0; j < AT; ++j) {
            const float* val = j < AP ? pv + (g * AP + j) * AD : v + (g * AK + j - AP) * AD;
            want += s[j] / sum * val[d];
          }
          CHECK(fabs(yc[(h * AL + i) * AD + d] - want) < 1e-5);
        }
      }
    CHECK(memcmp(present_k, pk, AP * AD * sizeof(float)) == 0);          /* kv head 0, past */
    CHECK(memcmp(present_k + AP * AD, k, AK * AD * sizeof(float)) == 0); /* kv head 0, new */
    CHECK(memcmp(present_v + (AT + AP) * AD, v + AK * AD, AK * AD * sizeof(float)) == 0);
    { /* planned once: the same result, bit for bit */
      float yp[sizeof yc / sizeof yc[0]];
      edgeattn_plan* plan = NULL;
      st = edgeattn_attention_plan(&aa, 2, &plan);
      CHECK(st.code == EDGEATTN_OK && edgeattn_plan_workspace_size(plan) == abytes);
      aa.y = yp;
      st = edgeattn_attention_planned(plan, &aa, aws, abytes, exec);
      CHECK(st.code == EDGEATTN_OK);
      CHECK(memcmp(yp, yc, sizeof yc) == 0);
      aa.y = yc;
      edgeattn_plan_destroy(plan);
    }
    aa.q_heads = 3; /* not a multiple of kv_heads */
    st = edgeattn_attention(&aa, aws, abytes, exec);
    CHECK(st.code == EDGEATTN_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "multiple of kv_heads") != NULL);
    free(aws);
  }

  /* Decoding through a KV cache: with equal logits, token t's output is the mean of the value
   * rows 0..t (causal), here x's rows. A prompt of 2 tokens, then one token per step. An f32
   * cache, then an int8 one (its values within half a step, amax/254, of x's). */
  for (int kvt = 0; kvt < 2; ++kvt) {
    float amax = 0.0f;
    for (i = 0; i < L * E; ++i) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    const float tol = kvt ? amax / 200.0f : 1e-5f;
    edgeattn_kv_cache_spec cs;
    edgeattn_kv_cache_spec_init(&cs);
    cs.kv_heads = H;
    cs.head_dim = E / H;
    cs.capacity = L;
    cs.element_type = kvt ? EDGEATTN_INT8 : EDGEATTN_F32;
    edgeattn_kv_cache* cache = NULL;
    st = edgeattn_kv_cache_create(&cs, &cache);
    CHECK(st.code == EDGEATTN_OK && cache != NULL);
    size_t dbytes = 0, step_bytes = 0;
    st = edgeattn_layer_decode_workspace_size(layer, cache, 1, 2, threads, &dbytes);
    CHECK(st.code == EDGEATTN_OK);
    st = edgeattn_layer_decode_workspace_size(layer, cache, 1, 1, threads, &step_bytes);
    CHECK(st.code == EDGEATTN_OK);
    if (step_bytes > dbytes) dbytes = step_bytes;
    void* dws = aligned_alloc(EDGEATTN_WORKSPACE_ALIGNMENT, (dbytes + 63) / 64 * 64);
    float yd[L * E];
    edgeattn_run_args da;
    edgeattn_run_args_init(&da);
    da.layout = EDGEATTN_UNBATCHED;
    int t0 = 0;
    while (t0 < L) {
      const int n = t0 == 0 ? 2 : 1;
      da.q_len = n;
      da.query = x + t0 * E;
      da.output = yd + t0 * E;
      st = edgeattn_layer_decode(layer, &da, cache, dws, dbytes, exec);
      CHECK(st.code == EDGEATTN_OK);
      t0 += n;
    }
    CHECK(edgeattn_kv_cache_length(cache) == L);
    for (j = 0; j < E; ++j)
      for (i = 0; i < L; ++i) {
        float mean = 0.0f;
        for (int r = 0; r <= i; ++r) mean += x[r * E + j] / (float)(i + 1);
        CHECK(fabsf(yd[i * E + j] - mean) < tol);
      }
    da.q_len = 1; /* the cache is full now */
    st = edgeattn_layer_decode(layer, &da, cache, dws, dbytes, exec);
    CHECK(st.code == EDGEATTN_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "KV cache full") != NULL);
    edgeattn_kv_cache_reset(cache);
    CHECK(edgeattn_kv_cache_length(cache) == 0);
    free(dws);
    edgeattn_kv_cache_destroy(cache);
  }

  edgeattn_layer_destroy(owned);
  edgeattn_layer_destroy(layer);
  edgeattn_executor_destroy(exec);
  free(ws);
  if (failures)
    fprintf(stderr, "%d failures\n", failures);
  else
    printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
