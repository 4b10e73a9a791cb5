// Layer creation: validation of the spec, weight packing, the optional owned workspace.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

#include "access.hpp"
#include "layer/layer_impl.hpp"
#include "port_registry.hpp"
#include "size_math.hpp"

namespace edgeattn {

namespace {

constexpr int kMaxDim = 1 << 24;  // any single dimension; products are checked separately
static_assert(kInt8MaxOutliers == kernels::kInt8MaxOutliers, "the API's bound is the kernels'");

}  // namespace

AlignedFloats copy_floats(const float* src, std::size_t n, bool* oom) {
  if (!src) return nullptr;
  AlignedFloats dst = allocate_floats(n);
  if (!dst) {
    *oom = true;
    return nullptr;
  }
  std::memcpy(dst.get(), src, n * sizeof(float));
  return dst;
}

Status pack_matrix(int panel_columns, const LayerSpec& spec, const void* src, const char* what,
                   int in, int out, const std::int32_t* int8_features, int int8_outliers,
                   void* dst) {
  if (spec.weight_type == ElementType::int8) {
    const std::size_t bad = kernels::pack_int8_any(
        panel_columns, src, static_cast<int>(spec.weights.element_type),
        spec.weight_layout == WeightLayout::out_in, in, out, int8_features, int8_outliers, dst);
    if (bad != 0)
      return Status::error(StatusCode::invalid_argument,
                           "%zu weights of %s are not finite, or are outlier weights beyond f16's "
                           "range: int8 cannot represent them",
                           bad, what);
    return Status();
  }
  const std::size_t overflows = kernels::pack_b_any(
      panel_columns, src, static_cast<int>(spec.weights.element_type),
      spec.weight_layout == WeightLayout::out_in, in, out, dst, static_cast<int>(spec.weight_type));
  if (overflows != 0)
    return Status::error(StatusCode::invalid_argument,
                         "%zu weights of %s are too large for %s (beyond its finite range)",
                         overflows, what, element_type_name(spec.weight_type));
  return Status();
}

namespace {

bool known_type(ElementType t) { return element_size(t) != 0; }

}  // namespace

Status validate_layer_spec(const LayerSpec& s) {
  if (s.embed_dim <= 0 || s.embed_dim > kMaxDim)
    return Status::error(StatusCode::invalid_argument, "embed_dim must be in [1, %d], got %d",
                         kMaxDim, s.embed_dim);
  if (s.num_heads <= 0 || s.num_heads > s.embed_dim)
    return Status::error(StatusCode::invalid_argument,
                         "num_heads must be in [1, embed_dim=%d], got %d", s.embed_dim,
                         s.num_heads);
  if (s.embed_dim % s.num_heads != 0)
    return Status::error(StatusCode::invalid_argument, "num_heads=%d does not divide embed_dim=%d",
                         s.num_heads, s.embed_dim);
  const int kv_heads = s.num_kv_heads == 0 ? s.num_heads : s.num_kv_heads;
  if (kv_heads < 0 || kv_heads > s.num_heads || s.num_heads % kv_heads != 0)
    return Status::error(StatusCode::invalid_argument, "num_kv_heads=%d must divide num_heads=%d",
                         s.num_kv_heads, s.num_heads);
  if (s.kdim < 0 || s.kdim > kMaxDim || s.vdim < 0 || s.vdim > kMaxDim)
    return Status::error(StatusCode::invalid_argument, "kdim=%d / vdim=%d out of range", s.kdim,
                         s.vdim);
  if (s.weight_layout != WeightLayout::out_in && s.weight_layout != WeightLayout::in_out)
    return Status::error(StatusCode::invalid_argument, "unknown weight_layout %d",
                         static_cast<int>(s.weight_layout));
  if (!known_type(s.weights.element_type) || !known_type(s.weight_type))
    return Status::error(StatusCode::invalid_argument,
                         "unknown element type (weights.element_type %d, weight_type %d)",
                         static_cast<int>(s.weights.element_type), static_cast<int>(s.weight_type));
  if (s.weights.element_type == ElementType::int8)
    return Status::error(StatusCode::invalid_argument,
                         "weights.element_type int8: source weights are f32, f16 or bf16 (int8 is "
                         "a weight_type, quantized at create)");
  if (s.weight_type == ElementType::int8 &&
      std::max({s.embed_dim, s.kdim, s.vdim}) > kernels::kInt8MaxK)
    return Status::error(StatusCode::invalid_argument,
                         "int8 weights need embed_dim, kdim and vdim <= %d (int32 accumulation), "
                         "got %d, %d, %d",
                         kernels::kInt8MaxK, s.embed_dim, s.kdim, s.vdim);
  const Int8Outliers& o = s.int8_outliers;
  if (o.inputs_count != 0 || o.heads_count != 0) {
    if (s.weight_type != ElementType::int8)
      return Status::error(StatusCode::invalid_argument,
                           "int8_outliers are for weight_type int8, not %s",
                           element_type_name(s.weight_type));
    const int input_width = std::min(
        {s.embed_dim, s.kdim > 0 ? s.kdim : s.embed_dim, s.vdim > 0 ? s.vdim : s.embed_dim});
    const struct {
      const char* name;
      const int* features;
      int count, width;
    } lists[2] = {{"inputs", o.inputs, o.inputs_count, input_width},
                  {"heads", o.heads, o.heads_count, s.embed_dim}};
    for (const auto& l : lists) {
      if (l.count < 0 || l.count > kInt8MaxOutliers)
        return Status::error(StatusCode::invalid_argument,
                             "int8_outliers.%s_count must be in [0, %d], got %d", l.name,
                             kInt8MaxOutliers, l.count);
      if (l.count > 0 && !l.features)
        return Status::error(StatusCode::null_pointer, "int8_outliers.%s is null", l.name);
      for (int i = 0; i < l.count; ++i) {
        if (l.features[i] < 0 || l.features[i] >= l.width)
          return Status::error(StatusCode::invalid_argument,
                               "int8_outliers.%s[%d] = %d is not a feature (< %d)", l.name, i,
                               l.features[i], l.width);
        for (int j = 0; j < i; ++j)
          if (l.features[j] == l.features[i])
            return Status::error(StatusCode::invalid_argument,
                                 "int8_outliers.%s lists feature %d twice", l.name, l.features[i]);
      }
    }
  }
  if (!s.weights.q) return Status::error(StatusCode::null_pointer, "weights.q is null");
  if (!s.weights.k) return Status::error(StatusCode::null_pointer, "weights.k is null");
  if (!s.weights.v) return Status::error(StatusCode::null_pointer, "weights.v is null");
  if (!s.weights.out) return Status::error(StatusCode::null_pointer, "weights.out is null");
  if ((s.weights.bias_k == nullptr) != (s.weights.bias_v == nullptr))
    return Status::error(StatusCode::invalid_argument,
                         "bias_k and bias_v must be given together (PyTorch add_bias_kv)");
  if (s.scale && !std::isfinite(*s.scale))
    return Status::error(StatusCode::invalid_argument, "scale must be finite, got %g",
                         static_cast<double>(*s.scale));
  if (s.max_batch < 0 || s.max_q_len < 0 || s.max_kv_len < 0 || s.num_threads < 0)
    return Status::error(StatusCode::invalid_argument,
                         "max_batch, max_q_len, max_kv_len and num_threads must be >= 0");
  return Status();
}

void set_layer_dims(LayerImpl& L, const LayerSpec& spec) {
  L.embed_dim = spec.embed_dim;
  L.num_heads = spec.num_heads;
  L.num_kv_heads = spec.num_kv_heads == 0 ? spec.num_heads : spec.num_kv_heads;
  L.head_dim = spec.embed_dim / spec.num_heads;
  L.kdim = spec.kdim == 0 ? spec.embed_dim : spec.kdim;
  L.vdim = spec.vdim == 0 ? spec.embed_dim : spec.vdim;
  L.kv_width = L.num_kv_heads * L.head_dim;
  L.scale = spec.scale ? *spec.scale : 1.0f / std::sqrt(static_cast<float>(L.head_dim));
  L.weight_type = spec.weight_type;
  const Int8Outliers& o = spec.int8_outliers;
  L.input_outliers = o.inputs_count;
  L.head_outliers = o.heads_count;
  for (int i = 0; i < o.inputs_count; ++i) L.input_features[i] = o.inputs[i];
  for (int i = 0; i < o.heads_count; ++i) L.head_features[i] = o.heads[i];
}

Status Layer::create(const LayerSpec& spec, std::unique_ptr<Layer>* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "output layer pointer is null");
  out->reset();
  Status st = validate_layer_spec(spec);
  if (!st) return st;

  std::unique_ptr<LayerImpl> impl(new (std::nothrow) LayerImpl());
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  LayerImpl& L = *impl;
  set_layer_dims(L, spec);
  char port_error[160];
  L.kernels = registry::select(spec.port, port_error, sizeof(port_error));
  if (!L.kernels) return Status::error(StatusCode::unsupported, "%s", port_error);

  bool oom = false;
  const Weights& w = spec.weights;
  const int nr = L.kernels->gemm_nr;
  const int type = static_cast<int>(L.weight_type);
  // In floats, rounded up: every matrix starts 64-byte aligned (a 16-bit matrix is a multiple of
  // NR·2 bytes only), so each is placed at its own multiple of 16 floats.
  auto floats_for = [&](int K, int N, int outliers) {
    return round_up(kernels::packed_matrix_bytes(K, N, nr, type, outliers), 64) / sizeof(float);
  };
  const std::size_t q_floats = floats_for(L.embed_dim, L.embed_dim, L.input_outliers);
  const std::size_t k_floats = floats_for(L.kdim, L.kv_width, L.input_outliers);
  const std::size_t v_floats = floats_for(L.vdim, L.kv_width, L.input_outliers);
  const std::size_t o_floats = floats_for(L.embed_dim, L.embed_dim, L.head_outliers);
  L.packed = allocate_floats(q_floats + k_floats + v_floats + o_floats);
  if (!L.packed) return Status::error(StatusCode::out_of_memory, "out of memory packing weights");
  float* const wq = L.packed.get();
  float *const wk = wq + q_floats, *const wv = wk + k_floats, *const wout = wv + v_floats;
  L.wq = wq;
  L.wk = wk;
  L.wv = wv;
  L.wout = wout;
  L.packed_bytes = (q_floats + k_floats + v_floats + o_floats) * sizeof(float);
  const std::int32_t *in_f = L.input_features, *head_f = L.head_features;
  const int in_o = L.input_outliers, head_o = L.head_outliers;
  st = pack_matrix(nr, spec, w.q, "q", L.embed_dim, L.embed_dim, in_f, in_o, wq);
  if (st) st = pack_matrix(nr, spec, w.k, "k", L.kdim, L.kv_width, in_f, in_o, wk);
  if (st) st = pack_matrix(nr, spec, w.v, "v", L.vdim, L.kv_width, in_f, in_o, wv);
  if (st) st = pack_matrix(nr, spec, w.out, "out", L.embed_dim, L.embed_dim, head_f, head_o, wout);
  if (!st) return st;
  L.bq = copy_floats(w.q_bias, L.embed_dim, &oom);
  L.bk = copy_floats(w.k_bias, L.kv_width, &oom);
  L.bv = copy_floats(w.v_bias, L.kv_width, &oom);
  L.bo = copy_floats(w.out_bias, L.embed_dim, &oom);
  L.bias_k = copy_floats(w.bias_k, L.kv_width, &oom);
  L.bias_v = copy_floats(w.bias_v, L.kv_width, &oom);
  if (oom) return Status::error(StatusCode::out_of_memory, "out of memory packing weights");

  if (spec.max_q_len > 0) {
    L.max_shape.batch = spec.max_batch > 0 ? spec.max_batch : 1;
    L.max_shape.q_len = spec.max_q_len;
    L.max_shape.kv_len = spec.max_kv_len > 0 ? spec.max_kv_len : spec.max_q_len;
#if defined(__cpp_exceptions)
    try {
#endif
      L.owned_executor.reset(new (std::nothrow) Executor(spec.num_threads));
#if defined(__cpp_exceptions)
    } catch (...) {  // oneTBB may throw while creating its arena
    }
#endif
    if (!L.owned_executor)
      return Status::error(StatusCode::out_of_memory, "could not create the owned executor");
    LayerRunPlan plan;
    st = plan_run(L, L.max_shape, L.owned_executor->num_threads(), &plan);
    if (!st) return st;
    L.owned_workspace = allocate_floats(plan.ws.total_floats());
    if (!L.owned_workspace)
      return Status::error(StatusCode::out_of_memory, "out of memory allocating %zu-byte workspace",
                           plan.ws.bytes());
    L.owned_workspace_bytes = plan.ws.bytes();
  }
  out->reset(new (std::nothrow) Layer(std::move(impl)));
  if (!*out) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  return Status();
}

Layer::Layer(std::unique_ptr<detail::LayerImpl> impl) : impl_(std::move(impl)) {}
Layer::~Layer() = default;

int Layer::embed_dim() const { return impl_->embed_dim; }
int Layer::num_heads() const { return impl_->num_heads; }
int Layer::num_kv_heads() const { return impl_->num_kv_heads; }
int Layer::head_dim() const { return impl_->head_dim; }
int Layer::kdim() const { return impl_->kdim; }
int Layer::vdim() const { return impl_->vdim; }
float Layer::scale() const { return impl_->scale; }
bool Layer::has_bias_kv() const { return impl_->has_bias_kv(); }
const char* Layer::port() const { return impl_->kernels->name; }
ElementType Layer::weight_type() const { return impl_->weight_type; }
std::size_t Layer::weight_bytes() const {
  const LayerImpl& L = *impl_;
  auto floats = [](const AlignedFloats& bias, int width) {
    return bias ? static_cast<std::size_t>(width) : std::size_t{0};
  };
  return L.packed_bytes +
         sizeof(float) * (floats(L.bq, L.embed_dim) + floats(L.bo, L.embed_dim) +
                          floats(L.bk, L.kv_width) + floats(L.bv, L.kv_width) +
                          floats(L.bias_k, L.kv_width) + floats(L.bias_v, L.kv_width));
}

}  // namespace edgeattn
