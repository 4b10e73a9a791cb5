// edgeattn — multi-head attention inference for the CPUs of edge devices (C++ API).
//
// The life of a layer follows XNNPACK's create -> reshape -> setup/run:
//   1. Layer::create(spec)            validates the spec and copies/packs the weights (allocates).
//   2. layer.plan(shape, threads, &p) plans one shape once: workspace layout, task grids,
//                                     kernels (allocates the small plan object only).
//      p.workspace_size()             the bytes of workspace a run with that plan needs.
//   3. layer.run(p, args, ws, exec)   computes; it never allocates, never throws, never plans,
//                                     and reports every bad input as a Status with a message.
// The one-shot layer.run(args, ws, exec) plans on the stack at every call (no allocation).
// The workspace (the "arena") is the caller's memory, 64-byte aligned (kWorkspaceAlignment),
// so a board can hand in a static buffer. Several threads may run one Layer (and one Plan) at
// once, each with its own workspace. For the single-caller convenience case a Layer can own a
// workspace sized for maximum shapes declared in the spec.
//
// What is computed is torch.nn.MultiheadAttention's forward pass (see README, "Semantics"),
// except that a query row whose keys are all masked yields zeros instead of NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "edgeattn/version.h"

#if defined(_WIN32)
#define EDGEATTN_API
#else
#define EDGEATTN_API __attribute__((visibility("default")))
#endif

namespace edgeattn {

namespace detail {
// Opaque: the library's own state behind the classes below, and its way into them.
struct Access;
struct ExecutorImpl;
struct PlanImpl;
struct LayerImpl;
struct KvCacheImpl;
}  // namespace detail

// Library version at run time, e.g. "0.1.0"; edgeattn/version.h has the compile-time one.
EDGEATTN_API const char* version();
EDGEATTN_API int version_major();
EDGEATTN_API int version_minor();
EDGEATTN_API int version_patch();

// Alignment, in bytes, that every workspace passed to run() must have.
inline constexpr std::size_t kWorkspaceAlignment = 64;

enum class StatusCode : int {
  ok = 0,
  invalid_argument = 1,  // a value out of range (heads not dividing the width, bad scale, ...)
  null_pointer = 2,      // a required pointer is null
  shape_mismatch = 3,    // shapes disagree with each other or with the layer
  workspace_too_small = 4,
  size_overflow = 5,  // a size product does not fit in 64 bits / addressable memory
  unsupported = 6,    // a valid request this build does not support
  out_of_memory = 7,  // only from create(): run() never allocates
  internal = 8,
};

EDGEATTN_API const char* status_code_name(StatusCode code);

// A status code plus a human-readable message. Holds its message inline (no allocation), so
// run() can report errors without touching the heap.
class EDGEATTN_API Status {
 public:
  Status() = default;
  static Status error(StatusCode code, const char* format, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 2, 3)))
#endif
      ;
  bool ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return ok(); }
  StatusCode code() const { return code_; }
  const char* message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::ok;
  char message_[200] = {};
};

// How weight matrices are laid out in the caller's memory.
enum class WeightLayout {
  out_in,  // PyTorch / Hugging Face: W is [out_features, in_features], y = x · Wᵀ
  in_out,  // textbook: W is [in_features, out_features], y = x · W; head h owns columns
           // [h·head_dim, (h+1)·head_dim), as np.split(W, num_heads, axis=-1)
};

// Element types: fp32, IEEE binary16 and bfloat16 (fp32's upper 16 bits), the 16-bit ones
// stored as uint16_t bit patterns; int8 (symmetric, with fp32 scales) for packed weights and KV
// caches only — never a source type.
enum class ElementType : int { f32 = 0, f16 = 1, bf16 = 2, int8 = 3 };
EDGEATTN_API const char* element_type_name(ElementType type);  // "f32", "f16", "bf16", "int8"
EDGEATTN_API std::size_t element_size(ElementType type);       // bytes: 4, 2, 2, 1 (0 if unknown)

// Weights of one layer. All pointers are the caller's and are only read during create().
// Widths: E = embed_dim, Wkv = num_kv_heads · head_dim (= E unless grouped-query attention).
// The four matrices are of element_type (a 16-bit checkpoint is read as it is, never widened
// to fp32 in memory first); the biases are always fp32.
struct Weights {
  const void* q = nullptr;          // E × E
  const void* k = nullptr;          // Wkv × kdim (out_in) or kdim × Wkv (in_out)
  const void* v = nullptr;          // Wkv × vdim (out_in) or vdim × Wkv (in_out)
  const void* out = nullptr;        // E × E
  const float* q_bias = nullptr;    // [E], optional
  const float* k_bias = nullptr;    // [Wkv], optional (Whisper's k_proj has none)
  const float* v_bias = nullptr;    // [Wkv], optional
  const float* out_bias = nullptr;  // [E], optional
  const float* bias_k = nullptr;    // [Wkv], optional: PyTorch add_bias_kv, one extra key ...
  const float* bias_v = nullptr;    // ... and value position appended after the projections
  ElementType element_type = ElementType::f32;  // of q, k, v and out
};

// int8 weights: the outlier features, per projection input, kept out of int8 — their
// activations stay fp32 and their weights are kept in f16. Transformer hidden states carry a
// few dimensions far larger than the rest (BERT's, LLMs'); in int8 they take the whole range of
// a row's scale and their weights' errors are multiplied by them. Pick them with
// Layer::calibrate_int8 on sample inputs. At most kInt8MaxOutliers each, distinct.
constexpr int kInt8MaxOutliers = 8;
struct Int8Outliers {
  // Features of the query, key and value inputs (for Wq, Wk and Wv; < min(embed_dim, kdim,
  // vdim)): one list, as self-attention quantizes its one input once for the three.
  const int* inputs = nullptr;
  int inputs_count = 0;
  const int* heads = nullptr;  // features of the concatenated heads, Wo's input (< embed_dim)
  int heads_count = 0;
};

struct LayerSpec {
  int embed_dim = 0;
  int num_heads = 0;
  int num_kv_heads = 0;  // 0: same as num_heads. Fewer: grouped-query attention
  int kdim = 0;          // width of the key input; 0: embed_dim
  int vdim = 0;          // width of the value input; 0: embed_dim
  WeightLayout weight_layout = WeightLayout::out_in;
  Weights weights;
  // The type the layer keeps its packed weights in and its kernels read: f16/bf16 halve the
  // weights' memory and bandwidth (widened to fp32 in the kernels' loads; arithmetic is fp32).
  // Narrowing rounds to nearest even; a finite weight too large for the type is an error.
  // int8 quarters them: symmetric per output channel (one fp32 scale per output row of each
  // matrix, amax / 127); activations are quantized at run time per row in blocks of 32 inputs
  // (a scale each), products accumulate exactly in int32 per block and are added in fp32, then
  // rescaled by the channel's scale before the bias; attention stays fp32. int8 needs finite
  // weights and input widths (embed_dim, kdim, vdim) <= 65536.
  ElementType weight_type = ElementType::f32;
  Int8Outliers int8_outliers;  // int8 only
  std::optional<float> scale;  // softmax scale; default 1/sqrt(head_dim)
  const char* port = nullptr;  // force a kernel port by name; null: EDGEATTN_PORT or automatic

  // Convenience arena: if max_q_len > 0 the layer allocates at create() one workspace for
  // shapes up to these maxima and an executor of num_threads, used by run(args) without a
  // workspace. Such a layer must then be run from one thread at a time.
  int max_batch = 0;
  int max_q_len = 0;
  int max_kv_len = 0;   // 0: max_q_len
  int num_threads = 0;  // for the owned executor; 0: all hardware threads
};

// Packed weights as one blob, for Layer::create_packed: the layer's matrices packed (and
// converted to spec.weight_type) in the panel layout of one port, its biases and dimensions,
// behind a versioned header with a checksum. `port` names the port the blob is for (null: the
// one create() would choose here); any build packs for any port (packing is layout, not
// instructions), so a PC makes blobs for a board. Little-endian, as every supported target.
EDGEATTN_API Status packed_size(const LayerSpec& spec, const char* port, std::size_t* bytes);
EDGEATTN_API Status pack(const LayerSpec& spec, const char* port, void* blob, std::size_t size);

// How the [batch, seq, features] data of query, key, value and output lie in memory.
enum class SequenceLayout {
  batch_first,  // [batch, seq, features]   (torch batch_first=True)
  seq_first,    // [seq, batch, features]   (torch's default batch_first=False)
  unbatched,    // [seq, features]          (batch must be 1)
};

enum class MaskType {
  none,
  additive,  // float32, added to the scaled logits (-inf blocks)
  boolean,   // one byte per element, 0 = false, nonzero = true; sense says what true means
};

// The meaning of "true" in a boolean mask. Named explicitly because the ecosystems disagree.
enum class BoolMaskSense {
  blocks_if_true,   // torch.nn.MultiheadAttention: true = may NOT attend
  attends_if_true,  // ONNX Attention, torch scaled_dot_product_attention: true = may attend
};

// The caller states the mask's dimensions so that run() can check them against the shape:
// rank 2 = [q_len, kv_len]; rank 3 = [batch · num_heads, q_len, kv_len], index b·num_heads + h.
// kv_len here is the input's kv length (a bias_k position is never masked).
struct AttnMask {
  MaskType type = MaskType::none;
  const void* data = nullptr;  // const float* (additive) or const uint8_t* (boolean)
  int rank = 2;
  int dims[3] = {0, 0, 0};
  BoolMaskSense sense = BoolMaskSense::blocks_if_true;
};

// Which key positions of each batch are padding: dims = [batch, kv_len].
struct KeyPaddingMask {
  MaskType type = MaskType::none;
  const void* data = nullptr;  // const float* (additive) or const uint8_t* (boolean)
  int dims[2] = {0, 0};
  BoolMaskSense sense = BoolMaskSense::blocks_if_true;
};

enum class AttnWeightsOutput {
  none,
  averaged,  // [batch, q_len, kv_total], the mean over heads (torch's default)
  per_head,  // [batch, num_heads, q_len, kv_total]
};           // kv_total = kv_len, plus 1 when the layer has bias_k/bias_v

struct Shape {
  int batch = 1;
  int q_len = 0;
  int kv_len = 0;  // 0: q_len (self-attention)
};

struct RunArgs {
  SequenceLayout layout = SequenceLayout::batch_first;
  Shape shape;
  const float* query = nullptr;  // [.., q_len, embed_dim] in `layout`
  const float* key = nullptr;    // [.., kv_len, kdim]; null with value null: self-attention
  const float* value = nullptr;  // [.., kv_len, vdim]
  AttnMask attn_mask;
  KeyPaddingMask key_padding_mask;
  bool causal = false;      // query i may attend key j only when j <= i (top-left aligned)
  float* output = nullptr;  // [.., q_len, embed_dim] in `layout`
  AttnWeightsOutput attn_weights = AttnWeightsOutput::none;
  float* attn_weights_out = nullptr;  // always batch-major, see AttnWeightsOutput
};

// The threads that work for a run: a oneTBB task_arena of a fixed concurrency. The number of
// threads working for one run never exceeds num_threads(). An Executor may be shared by
// concurrent runs; they then share its threads.
class EDGEATTN_API Executor {
 public:
  explicit Executor(int num_threads = 0);  // 0: all hardware threads
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  int num_threads() const;

 private:
  friend struct detail::Access;
  std::unique_ptr<detail::ExecutorImpl> impl_;
};

EDGEATTN_API int default_num_threads();

// Kernel ports: one per target ISA ("x86-avx2", "generic", ...). A build carries several;
// create() picks one per layer: LayerSpec::port if set, else the EDGEATTN_PORT environment
// variable if set, else the best port this CPU supports.
struct PortInfo {
  const char* name;           // "x86-avx2", "generic", ...
  char gemm_kernel[64];       // the projection kernel, e.g. "f32_gemm_4x24__x86_avx2"
  char attention_kernel[64];  // the attention tile, e.g. "f32_attend_48x128__x86_avx2"
  int gemm_mr, gemm_nr;       // GEMM register tile (rows × columns)
  int attn_query_tile;        // query rows per attention task
  int attn_kv_tile;           // keys per online-softmax step
  bool cpu_supported;         // this CPU can run it
  // The int8-weight projection kernel this CPU would run, e.g.
  // "qd8_f32_qc8w_gemm_8x48__x86_avx512_vnni" (the best of the port's variants it supports).
  char int8_gemm_kernel[64];
};
EDGEATTN_API int port_count();               // ports in this build, best first
EDGEATTN_API PortInfo port_info(int index);  // 0 <= index < port_count()
// The port create() would pick for `requested` (null or "" = automatic).
EDGEATTN_API Status select_port(const char* requested, PortInfo* out);

class KvCache;

// A run planned once for one shape and thread count (Layer::plan, Layer::plan_decode,
// plan_attention): the workspace layout, the task grids and the kernels. Running with a plan
// does no planning. A plan is only read by runs, so concurrent runs may share it; it must not
// outlive the layer it was made for. Runs check that their arguments match the plan.
class EDGEATTN_API Plan {
 public:
  Plan();
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  bool empty() const;                  // true until a plan function succeeds
  std::size_t workspace_size() const;  // bytes a run with this plan needs (0 when empty)
  int num_threads() const;             // the most threads a run's executor may have

 private:
  friend struct detail::Access;
  std::unique_ptr<detail::PlanImpl> impl_;
};

// Per feature, the largest |x| seen at a layer's projection inputs (Layer::calibrate_int8).
struct EDGEATTN_API Int8Calibration {
  std::vector<float> inputs_amax;  // the query, key and value inputs (min(embed_dim, kdim, vdim))
  std::vector<float> heads_amax;   // the concatenated heads (embed_dim)
  // The `count` features of largest amax (count clamped to [0, kInt8MaxOutliers]), largest
  // first, ties to the lower index.
  std::vector<int> top_inputs(int count) const;
  std::vector<int> top_heads(int count) const;
};

class EDGEATTN_API Layer {
 public:
  // Validates the spec, copies and packs the weights. Does not throw.
  static Status create(const LayerSpec& spec, std::unique_ptr<Layer>* out);
  // A layer whose packed weights are read in place from `blob` (made by pack(), e.g. a
  // read-only mmap of an `edgeattn pack` file, or a blob in flash): nothing of the weights is
  // copied (the biases are, a few KB). The blob must be 64-byte aligned and outlive the layer.
  // Every header field, every section's bounds and a checksum of the whole blob are checked:
  // a truncated, corrupted or foreign blob, or one packed for a port this build or CPU cannot
  // run, is an error status. Such a layer owns no workspace (LayerSpec's max_* do not apply).
  static Status create_packed(const void* blob, std::size_t size, std::unique_ptr<Layer>* out);
  ~Layer();
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  int embed_dim() const;
  int num_heads() const;
  int num_kv_heads() const;
  int head_dim() const;
  int kdim() const;
  int vdim() const;
  float scale() const;
  bool has_bias_kv() const;
  const char* port() const;  // the kernel port this layer runs
  ElementType weight_type() const;
  // Bytes the layer holds for its weights: the packed panels (with their padding) and biases.
  std::size_t weight_bytes() const;

  // int8 calibration: runs the layer forward on sample inputs (args as for run(); the output
  // is written) and raises stats' per-feature largest |x| of the projections' inputs. Call it
  // on an f32 layer with the weights an int8 layer will get, over a few representative
  // batches, then hand stats.top_inputs(n) / top_heads(n) to LayerSpec::int8_outliers.
  // Allocates (an offline step).
  Status calibrate_int8(const RunArgs& args, Int8Calibration* stats) const;

  // Plans runs of this shape with executors of up to num_threads threads. Fails (status) when
  // sizes overflow.
  Status plan(const Shape& shape, int num_threads, Plan* out) const;
  // Runs one forward pass with a plan of this layer: args.shape must be the plan's shape,
  // executor.num_threads() at most the plan's, workspace kWorkspaceAlignment-aligned and at
  // least plan.workspace_size() bytes. No allocation, no exceptions, no planning.
  Status run(const Plan& plan, const RunArgs& args, void* workspace, std::size_t workspace_bytes,
             const Executor& executor) const;

  // One-shot forms: plan (on the stack) and run in one call.
  Status workspace_size(const Shape& shape, int num_threads, std::size_t* bytes) const;
  Status run(const RunArgs& args, void* workspace, std::size_t workspace_bytes,
             const Executor& executor) const;

  // Convenience: runs with the workspace and executor owned by the layer (spec.max_*).
  // Not for concurrent callers.
  Status run(const RunArgs& args);

  // Self-attention of new tokens with a KV cache (a prompt, then one token per step): projects
  // args.query to Q, K and V, appends K and V to `cache` (which must match the layer's kv
  // heads and head_dim, and args.shape.batch), attends the new queries to every cached position
  // (causal inside the block) and projects the output. args.key/value must be null; masks and
  // attention weights are not supported here. A plan is made for a cache's geometry and a
  // q_len; it serves any cache of the same batch, heads, head widths and capacity.
  Status plan_decode(const KvCache& cache, const Shape& shape, int num_threads, Plan* out) const;
  Status decode(const Plan& plan, const RunArgs& args, KvCache* cache, void* workspace,
                std::size_t workspace_bytes, const Executor& executor) const;
  // One-shot forms.
  Status decode_workspace_size(const KvCache& cache, const Shape& shape, int num_threads,
                               std::size_t* bytes) const;
  Status decode(const RunArgs& args, KvCache* cache, void* workspace, std::size_t workspace_bytes,
                const Executor& executor) const;

 private:
  friend struct detail::Access;
  explicit Layer(std::unique_ptr<detail::LayerImpl> impl);
  std::unique_ptr<detail::LayerImpl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Attention core: scaled dot-product attention on Q, K, V the caller has already projected
// (rotary embeddings, q/k norms, an ONNX graph's `Attention` node), with the semantics of the
// ONNX operator Attention (opset 23/24; see README, "Attention core"). No projections here.
// ---------------------------------------------------------------------------------------------

// Where Q, K, V and Y lie. past_key/past_value and present_key/present_value are always 4-D.
enum class AttentionLayout {
  bhsd,  // 4-D [batch, heads, seq, head_dim]
  bsd,   // 3-D [batch, seq, heads · head_dim] (ONNX with q_num_heads / kv_num_heads)
};

// ONNX `qk_matmul_output` modes: the score matrix at one step of the computation.
enum class QkOutputMode {
  scaled = 0,      // scale · Q·Kᵀ
  softcapped = 1,  // after the softcap (= scaled when there is no softcap)
  masked = 2,      // after the mask, causal mask and valid lengths (blocked = -inf)
  softmax = 3,     // the probabilities (a fully masked row is zeros)
};

// A mask broadcast, NumPy style, to [batch, q_heads, q_len, total_len]: rank 2 [L, M],
// rank 3 [H, L, M], rank 4 [B, H, L, M], where each of B, H, L is that size or 1 and
// M <= total_len (past_len + kv_len); keys at or past M are blocked.
struct AttentionMask {
  MaskType type = MaskType::none;
  const void* data = nullptr;  // const float* (additive) or const uint8_t* (boolean)
  int rank = 2;
  int dims[4] = {0, 0, 0, 0};
  BoolMaskSense sense = BoolMaskSense::attends_if_true;  // ONNX: true = may attend
};

struct AttentionArgs {
  AttentionLayout layout = AttentionLayout::bhsd;
  int batch = 1;
  int q_heads = 0;
  int kv_heads =
      0;  // 0: q_heads; fewer: grouped-/multi-query (q head h uses h / (q_heads / kv_heads))
  int q_len = 0;
  int kv_len = 0;      // new keys/values in k and v (0 allowed with a past)
  int past_len = 0;    // keys/values in past_key/past_value
  int head_dim = 0;    // of Q and K
  int v_head_dim = 0;  // of V and Y; 0: head_dim
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* past_key = nullptr;    // [batch, kv_heads, past_len, head_dim]
  const float* past_value = nullptr;  // [batch, kv_heads, past_len, v_head_dim]
  AttentionMask mask;
  // Per-batch valid lengths of the keys (ONNX opset 24 nonpad_kv_seqlen, for an external
  // cache passed as k/v): keys at j >= nonpad[b] are blocked. Not with a past.
  const std::int64_t* nonpad_kv_seqlen = nullptr;
  // Query i may attend key j only when j <= i + offset, where offset = past_len, or
  // nonpad_kv_seqlen[b] - q_len with valid lengths (bottom-right aligned).
  bool causal = false;
  std::optional<float> scale;  // default 1/sqrt(head_dim)
  float softcap = 0.0f;        // > 0: scores become softcap·tanh(scores/softcap) before masking
  float* y = nullptr;  // [batch, q_heads, q_len, v_head_dim] or [batch, q_len, q_heads·v_head_dim]
  float* present_key = nullptr;    // optional: [batch, kv_heads, past_len + kv_len, head_dim]
  float* present_value = nullptr;  // optional: [batch, kv_heads, past_len + kv_len, v_head_dim]
  float* qk_out = nullptr;         // optional: [batch, q_heads, q_len, past_len + kv_len]
  QkOutputMode qk_mode = QkOutputMode::scaled;
  const char* port = nullptr;  // force a kernel port; null: EDGEATTN_PORT or automatic
  // How K and V (past and new) are staged for the kernels: f32, or f16 as a f16 KV cache holds
  // them (half the workspace and bandwidth; rounded to nearest even, a finite value beyond
  // f16's range is an error; not with qk_out). Part of the plan.
  ElementType kv_element_type = ElementType::f32;
};

// Plans attention() for these arguments' sizes, options and port with executors of up to
// num_threads threads. Of the pointers only qk_out is looked at: a plan made with it null
// reserves no room for the scores, and runs with one set are refused.
EDGEATTN_API Status plan_attention(const AttentionArgs& args, int num_threads, Plan* out);
// Computes Y (and whichever optional outputs are set) with a plan whose sizes and options
// match. Never allocates, throws or plans; the same workspace rules as Layer::run.
EDGEATTN_API Status attention(const Plan& plan, const AttentionArgs& args, void* workspace,
                              std::size_t workspace_bytes, const Executor& executor);
// One-shot forms: plan on the stack and run.
EDGEATTN_API Status attention_workspace_size(const AttentionArgs& args, int num_threads,
                                             std::size_t* bytes);
EDGEATTN_API Status attention(const AttentionArgs& args, void* workspace,
                              std::size_t workspace_bytes, const Executor& executor);
// Convenience: allocates the workspace for this one call (the only allocation).
EDGEATTN_API Status attention(const AttentionArgs& args, const Executor& executor);

// ---------------------------------------------------------------------------------------------
// KV cache: the keys and values of every position seen so far, for token-by-token decoding.
// Capacity is fixed at creation (the cache's memory is allocated then, or is the caller's);
// nothing is allocated while appending or attending. Stored in the layout the attention
// kernels read (keys transposed per head), so a decode step reads the cache exactly once.
// One cache serves one sequence (per batch row) and one call at a time; attention() over it
// only reads it, so several calls may read one cache concurrently between appends.
// ---------------------------------------------------------------------------------------------

struct KvCacheSpec {
  int batch = 1;
  int kv_heads = 0;
  int head_dim = 0;
  int v_head_dim = 0;  // 0: head_dim
  int capacity = 0;    // positions held
  // Sliding window: 0 keeps every position (appending past capacity is an error). W > 0 keeps
  // the last W positions as a ring: a query attends the W newest positions up to its own.
  // Then capacity must be >= W, and one append may add at most capacity - W + 1 positions
  // (the oldest query of the block still needs the W - 1 positions before it).
  int window = 0;
  // What the cache stores keys and values as: f32, or f16 (half the memory and the bandwidth
  // of a decode step; rounded to nearest even on append, widened in the attention kernels'
  // loads; scores and softmax stay fp32). An appended value too large for f16 is an error.
  ElementType element_type = ElementType::f32;
  // Caller memory (kWorkspaceAlignment-aligned, kv_cache_bytes(spec) long), or null: the cache
  // allocates it at create().
  void* memory = nullptr;
  std::size_t memory_bytes = 0;
};

// Bytes of cache memory a spec needs.
EDGEATTN_API Status kv_cache_bytes(const KvCacheSpec& spec, std::size_t* bytes);

class EDGEATTN_API KvCache {
 public:
  static Status create(const KvCacheSpec& spec, std::unique_ptr<KvCache>* out);
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int batch() const;
  int kv_heads() const;
  int head_dim() const;
  int v_head_dim() const;
  int capacity() const;
  int window() const;
  ElementType element_type() const;
  long long length() const;  // positions appended since the last reset
  int stored() const;        // positions held now: min(length, capacity)

  // Appends n positions of keys and values, [batch, kv_heads, n, head_dim] (bhsd) or
  // [batch, n, kv_heads·head_dim] (bsd). More than the capacity allows is an error status and
  // leaves the cache unchanged.
  Status append(const float* k, const float* v, int n,
                AttentionLayout layout = AttentionLayout::bhsd);
  // Forgets the newest positions down to `length` (speculative decoding, benchmarks); not in
  // sliding-window mode.
  Status truncate(long long length);
  void reset();  // forgets everything

 private:
  friend struct detail::Access;
  explicit KvCache(std::unique_ptr<detail::KvCacheImpl> impl);
  std::unique_ptr<detail::KvCacheImpl> impl_;
};

// Attention of new queries to everything in a cache: the queries are the newest q_len
// positions appended (append their K/V first), causal inside that block; with a sliding window
// each query sees the `window` newest positions up to its own.
struct CachedAttentionArgs {
  AttentionLayout layout = AttentionLayout::bhsd;
  int q_heads = 0;  // a multiple of the cache's kv_heads
  int q_len = 0;    // <= the positions the cache holds
  const float* q =
      nullptr;         // [batch, q_heads, q_len, head_dim] or [batch, q_len, q_heads·head_dim]
  float* y = nullptr;  // [batch, q_heads, q_len, v_head_dim] or [batch, q_len, q_heads·v_head_dim]
  std::optional<float> scale;  // default 1/sqrt(head_dim)
  float softcap = 0.0f;
  const char* port = nullptr;
};

// Plans attention over caches of this one's geometry (batch, heads, head widths, capacity,
// window) for args' q_heads, q_len and port, with executors of up to num_threads threads.
EDGEATTN_API Status plan_attention(const KvCache& cache, const CachedAttentionArgs& args,
                                   int num_threads, Plan* out);
// q_len = 1 (a decode step) splits the cached positions into fixed chunks that threads share,
// merged in a fixed order: results are bitwise the same for any thread count.
EDGEATTN_API Status attention(const Plan& plan, const KvCache& cache,
                              const CachedAttentionArgs& args, void* workspace,
                              std::size_t workspace_bytes, const Executor& executor);
// One-shot forms.
EDGEATTN_API Status attention_workspace_size(const KvCache& cache, const CachedAttentionArgs& args,
                                             int num_threads, std::size_t* bytes);
EDGEATTN_API Status attention(const KvCache& cache, const CachedAttentionArgs& args,
                              void* workspace, std::size_t workspace_bytes,
                              const Executor& executor);

}  // namespace edgeattn
