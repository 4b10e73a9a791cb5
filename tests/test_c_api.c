/* The C API from C: create, workspace size, run with a caller workspace and with the owned
 * one, and error statuses. With Wq = Wk = 0 every logit is equal, so each output row is the
 * mean of the value rows (Wv = Wo = I): a result checkable by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeattn/edgeattn.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

enum { E = 4, H = 2, L = 3 };

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
  CHECK(threads == 2 || threads == 1); /* 1 in serial-executor builds */
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

  edgeattn_layer_destroy(owned);
  edgeattn_layer_destroy(layer);
  edgeattn_executor_destroy(exec);
  free(ws);
  if (failures) fprintf(stderr, "%d failures\n", failures);
  else printf("C API: all checks passed\n");
  return failures ? 1 : 0;
}
