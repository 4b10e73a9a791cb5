// Layer creation (validation, weight packing) and workspace planning.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

#include "layer_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {

AlignedFloats allocate_floats(std::size_t count) {
  std::size_t bytes = 0;
  if (!checked_mul(count, sizeof(float), &bytes)) return nullptr;
  bytes = (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
  if (bytes == 0) bytes = kWorkspaceAlignment;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(kWorkspaceAlignment, bytes)));
}

namespace {

constexpr int kMaxDim = 1 << 24;  // any single dimension; products are checked separately

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

// Packs src (in × out) at dst, which has room for kernels::packed_b_floats(in, out, NR).
void pack_into(const KernelTable& k, const float* src, WeightLayout layout, int in, int out,
               float* dst) {
  k.pack_b(src, layout == WeightLayout::out_in, in, out, dst);
}

AlignedFloats pack_weights(const KernelTable& k, const float* src, WeightLayout layout, int in,
                           int out, bool* oom) {
  AlignedFloats dst = allocate_floats(kernels::packed_b_floats(in, out, k.gemm_nr));
  if (!dst) {
    *oom = true;
    return nullptr;
  }
  pack_into(k, src, layout, in, out, dst.get());
  return dst;
}

Status validate_spec(const LayerSpec& s) {
  if (s.embed_dim <= 0 || s.embed_dim > kMaxDim)
    return Status::error(StatusCode::invalid_argument, "embed_dim must be in [1, %d], got %d",
                         kMaxDim, s.embed_dim);
  if (s.num_heads <= 0 || s.num_heads > s.embed_dim)
    return Status::error(StatusCode::invalid_argument,
                         "num_heads must be in [1, embed_dim=%d], got %d", s.embed_dim,
                         s.num_heads);
  if (s.embed_dim % s.num_heads != 0)
    return Status::error(StatusCode::invalid_argument,
                         "num_heads=%d does not divide embed_dim=%d", s.num_heads, s.embed_dim);
  const int kv_heads = s.num_kv_heads == 0 ? s.num_heads : s.num_kv_heads;
  if (kv_heads < 0 || kv_heads > s.num_heads || s.num_heads % kv_heads != 0)
    return Status::error(StatusCode::invalid_argument,
                         "num_kv_heads=%d must divide num_heads=%d", s.num_kv_heads,
                         s.num_heads);
  if (s.kdim < 0 || s.kdim > kMaxDim || s.vdim < 0 || s.vdim > kMaxDim)
    return Status::error(StatusCode::invalid_argument, "kdim=%d / vdim=%d out of range",
                         s.kdim, s.vdim);
  if (s.weight_layout != WeightLayout::out_in && s.weight_layout != WeightLayout::in_out)
    return Status::error(StatusCode::invalid_argument, "unknown weight_layout %d",
                         static_cast<int>(s.weight_layout));
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

}  // namespace

Status Layer::create(const LayerSpec& spec, std::unique_ptr<Layer>* out) {
  if (!out) return Status::error(StatusCode::null_pointer, "output layer pointer is null");
  out->reset();
  Status st = validate_spec(spec);
  if (!st) return st;

  std::unique_ptr<Impl> impl(new (std::nothrow) Impl());
  if (!impl) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  Impl& L = *impl;
  L.embed_dim = spec.embed_dim;
  L.num_heads = spec.num_heads;
  L.num_kv_heads = spec.num_kv_heads == 0 ? spec.num_heads : spec.num_kv_heads;
  L.head_dim = spec.embed_dim / spec.num_heads;
  L.kdim = spec.kdim == 0 ? spec.embed_dim : spec.kdim;
  L.vdim = spec.vdim == 0 ? spec.embed_dim : spec.vdim;
  L.kv_width = L.num_kv_heads * L.head_dim;
  L.scale = spec.scale ? *spec.scale : 1.0f / std::sqrt(static_cast<float>(L.head_dim));
  char port_error[160];
  L.kernels = select_port(spec.port, port_error, sizeof(port_error));
  if (!L.kernels) return Status::error(StatusCode::unsupported, "%s", port_error);

  bool oom = false;
  const Weights& w = spec.weights;
  const int nr = L.kernels->gemm_nr;
  const std::size_t q_floats = kernels::packed_b_floats(L.embed_dim, L.embed_dim, nr);
  const std::size_t k_floats = kernels::packed_b_floats(L.kdim, L.kv_width, nr);
  const std::size_t v_floats = kernels::packed_b_floats(L.vdim, L.kv_width, nr);
  L.wqkv = allocate_floats(q_floats + k_floats + v_floats);
  if (!L.wqkv) return Status::error(StatusCode::out_of_memory, "out of memory packing weights");
  L.wq = L.wqkv.get();
  L.wk = L.wq + q_floats;
  L.wv = L.wk + k_floats;
  pack_into(*L.kernels, w.q, spec.weight_layout, L.embed_dim, L.embed_dim, L.wqkv.get());
  pack_into(*L.kernels, w.k, spec.weight_layout, L.kdim, L.kv_width, L.wqkv.get() + q_floats);
  pack_into(*L.kernels, w.v, spec.weight_layout, L.vdim, L.kv_width,
            L.wqkv.get() + q_floats + k_floats);
  L.wo = pack_weights(*L.kernels, w.out, spec.weight_layout, L.embed_dim, L.embed_dim, &oom);
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
    WorkspacePlan plan;
    st = L.plan(L.max_shape, L.owned_executor->num_threads(), &plan);
    if (!st) return st;
    L.owned_workspace = allocate_floats(plan.total_floats);
    if (!L.owned_workspace)
      return Status::error(StatusCode::out_of_memory, "out of memory allocating %zu-byte workspace",
                           plan.total_floats * sizeof(float));
    L.owned_workspace_bytes = plan.total_floats * sizeof(float);
  }
  out->reset(new (std::nothrow) Layer(std::move(impl)));
  if (!*out) return Status::error(StatusCode::out_of_memory, "out of memory creating layer");
  return Status();
}

Layer::Layer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
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

Status Layer::Impl::plan(const Shape& shape, int num_threads, WorkspacePlan* p) const {
  const int kv_len = shape.kv_len == 0 ? shape.q_len : shape.kv_len;
  if (shape.batch <= 0 || shape.q_len <= 0 || kv_len <= 0)
    return Status::error(StatusCode::invalid_argument,
                         "shape must have batch, q_len, kv_len >= 1, got %d, %d, %d",
                         shape.batch, shape.q_len, shape.kv_len);
  if (num_threads <= 0)
    return Status::error(StatusCode::invalid_argument, "num_threads must be >= 1, got %d",
                         num_threads);
  const std::size_t kv_total = static_cast<std::size_t>(kv_len) + (has_bias_kv() ? 1 : 0);
  SizeAccumulator acc;  // 16-float (64-byte) aligned regions, overflow-checked
  const std::size_t B = static_cast<std::size_t>(shape.batch);
  const std::size_t Lq = static_cast<std::size_t>(shape.q_len);
  // Kᵀ rows are padded to a multiple of 16 keys (48 when the attention NR = 12) and V is
  // followed by slack, because the attention micro-kernel reads whole NR-column tiles
  // (NR <= 16) past the valid columns; the reads land in this workspace and feed only unused
  // results.
  const std::size_t kv_ld = round_up(kv_total, kernels->attn_nr % 16 == 0 ? 16 : 48);
  const std::size_t slack = 16;
  auto guard = [&](const char* after) {
    if (!kCheckedArena) return;
    p->guard_after[p->num_guards] = after;
    p->guards[p->num_guards++] = acc.add({WorkspacePlan::kGuardFloats});
  };
  p->q = acc.add({B, Lq, static_cast<std::size_t>(embed_dim)});
  guard("q");
  p->kt = acc.add({B, kv_ld, static_cast<std::size_t>(kv_width)});
  guard("k");
  p->v = acc.add({B, kv_total, static_cast<std::size_t>(kv_width)});
  acc.add({slack});
  guard("v");
  p->concat = acc.add({B, Lq, static_cast<std::size_t>(embed_dim)});
  guard("concat");
  const std::size_t tile = kernels->attend_scratch_floats(head_dim);
  p->scratch_per_slot = round_up(std::max(tile, kv_total), 16) +
                        (kCheckedArena ? WorkspacePlan::kGuardFloats : 0);
  p->slots = num_threads;
  p->scratch = acc.add({static_cast<std::size_t>(num_threads), p->scratch_per_slot});
  p->kv_ld = kv_ld;
  p->total_floats = acc.total();
  if (acc.overflowed() || !checked_mul(p->total_floats, sizeof(float), nullptr))
    return Status::error(StatusCode::size_overflow,
                         "workspace for batch=%d q_len=%d kv_len=%d overflows size_t",
                         shape.batch, shape.q_len, kv_len);
  return Status();
}

Status Layer::workspace_size(const Shape& shape, int num_threads, std::size_t* bytes) const {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  WorkspacePlan plan;
  Status st = impl_->plan(shape, num_threads, &plan);
  if (!st) return st;
  *bytes = plan.total_floats * sizeof(float);
  return Status();
}

Status Layer::run(const RunArgs& args, void* workspace, std::size_t workspace_bytes,
                  const Executor& executor) const {
  return impl_->run(args, workspace, workspace_bytes, executor);
}

Status Layer::decode_workspace_size(const KvCache& cache, const Shape& shape, int num_threads,
                                    std::size_t* bytes) const {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  Impl::DecodePlan p;
  Status st = impl_->decode_plan(cache, shape, num_threads, &p);
  if (st) *bytes = p.total_floats * sizeof(float);
  return st;
}

Status Layer::decode(const RunArgs& args, KvCache* cache, void* workspace, std::size_t workspace_bytes,
                     const Executor& executor) const {
  return impl_->decode(args, cache, workspace, workspace_bytes, executor);
}

Status Layer::run(const RunArgs& args) {
  if (!impl_->owned_workspace)
    return Status::error(StatusCode::invalid_argument,
                         "this layer owns no workspace: set spec.max_q_len at create or pass one");
  return impl_->run(args, impl_->owned_workspace.get(), impl_->owned_workspace_bytes,
                    *impl_->owned_executor);
}

}  // namespace edgeattn
