// The attention core (ONNX Attention semantics) on caller-projected Q, K, V. Two parallel
// stages over the fast path's kernels:
//   1. gather: per (batch, kv head) the past and new keys into Kᵀ [head_dim][kv_ld] and the
//      values into V [total][v_dim] (writing present_key/present_value on the way), per
//      (batch, q head) Q scaled into [q_len][head_dim] — the layouts attend_tile reads;
//   2. attend: per (batch, q head, query tile) the flash tile, or with qk_matmul_output the
//      row path that materialises the scores at the requested step.
// Y is written in place, in either layout. No allocation, no exceptions.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>

#include "executor.hpp"
#include "kernel_table.hpp"
#include "size_math.hpp"

namespace edgeattn {
namespace {

struct CoreDims {
  int B = 0, Hq = 0, G = 0, Lq = 0, Lkv = 0, Lp = 0, Lt = 0, D = 0, Dv = 0;
  int mask_dims[4] = {1, 1, 1, 1};  // the mask's [B, H, L, M], rank padded to 4
};

struct CorePlan {
  std::size_t q = 0, kt = 0, v = 0, scratch = 0, scratch_per_slot = 0, kv_ld = 0, total_floats = 0;
};

constexpr std::size_t kVSlackFloats = 64;  // the micro-kernel reads up to NR columns past a V row

Status check_size(std::initializer_list<std::size_t> factors, const char* what) {
  std::size_t n = 0;
  if (!checked_product(factors, &n) || n > (static_cast<std::size_t>(-1) >> 4))
    return Status::error(StatusCode::size_overflow, "%s size overflows", what);
  return Status();
}

// Sizes and attributes only; pointers are checked by validate_pointers.
Status validate_dims(const AttentionArgs& a, CoreDims* d) {
  if (a.layout != AttentionLayout::bhsd && a.layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d",
                         static_cast<int>(a.layout));
  if (a.batch < 1 || a.q_heads < 1 || a.q_len < 1 || a.head_dim < 1)
    return Status::error(StatusCode::invalid_argument,
                         "batch, q_heads, q_len and head_dim must be >= 1, got %d, %d, %d, %d",
                         a.batch, a.q_heads, a.q_len, a.head_dim);
  if (a.kv_len < 0 || a.past_len < 0 || a.kv_heads < 0 || a.v_head_dim < 0)
    return Status::error(StatusCode::invalid_argument,
                         "kv_len, past_len, kv_heads and v_head_dim must be >= 0, got %d, %d, %d, %d",
                         a.kv_len, a.past_len, a.kv_heads, a.v_head_dim);
  d->B = a.batch;
  d->Hq = a.q_heads;
  d->G = a.kv_heads == 0 ? a.q_heads : a.kv_heads;
  d->Lq = a.q_len;
  d->Lkv = a.kv_len;
  d->Lp = a.past_len;
  d->D = a.head_dim;
  d->Dv = a.v_head_dim == 0 ? a.head_dim : a.v_head_dim;
  if (d->Hq % d->G != 0)
    return Status::error(StatusCode::invalid_argument,
                         "q_heads (%d) must be a multiple of kv_heads (%d)", d->Hq, d->G);
  if (static_cast<long long>(a.kv_len) + a.past_len > std::numeric_limits<int>::max() / 2)
    return Status::error(StatusCode::size_overflow, "past_len + kv_len overflows");
  d->Lt = a.kv_len + a.past_len;
  if (d->Lt < 1)
    return Status::error(StatusCode::invalid_argument, "no keys: kv_len + past_len must be >= 1");
  if (a.scale && !std::isfinite(*a.scale))
    return Status::error(StatusCode::invalid_argument, "scale must be finite");
  if (!std::isfinite(a.softcap) || a.softcap < 0.0f)
    return Status::error(StatusCode::invalid_argument, "softcap must be finite and >= 0, got %g",
                         static_cast<double>(a.softcap));
  if (a.nonpad_kv_seqlen && a.past_len > 0)
    return Status::error(StatusCode::invalid_argument,
                         "nonpad_kv_seqlen describes keys passed as k/v (an external cache); it "
                         "cannot be combined with past_key/past_value");
  const auto B = static_cast<std::size_t>(d->B), Hq = static_cast<std::size_t>(d->Hq),
             G = static_cast<std::size_t>(d->G), Lq = static_cast<std::size_t>(d->Lq),
             Lt = static_cast<std::size_t>(d->Lt), D = static_cast<std::size_t>(d->D),
             Dv = static_cast<std::size_t>(d->Dv);
  Status st = check_size({B, Hq, Lq, std::max(D, Dv)}, "Q/Y");
  if (st) st = check_size({B, G, Lt + 64, std::max(D, Dv)}, "K/V");
  if (st) st = check_size({B, Hq, Lq, Lt}, "qk_matmul_output");
  if (!st) return st;

  const AttentionMask& m = a.mask;
  if (m.type != MaskType::none && m.type != MaskType::additive && m.type != MaskType::boolean)
    return Status::error(StatusCode::invalid_argument, "attn_mask: unknown mask type %d",
                         static_cast<int>(m.type));
  if (m.type == MaskType::boolean && m.sense != BoolMaskSense::blocks_if_true &&
      m.sense != BoolMaskSense::attends_if_true)
    return Status::error(StatusCode::invalid_argument, "attn_mask: unknown boolean mask sense %d",
                         static_cast<int>(m.sense));
  if (m.type != MaskType::none) {
    if (m.rank < 2 || m.rank > 4)
      return Status::error(StatusCode::shape_mismatch, "attn_mask rank must be 2, 3 or 4, got %d",
                           m.rank);
    for (int i = 0; i < m.rank; ++i) d->mask_dims[4 - m.rank + i] = m.dims[i];
    const int* md = d->mask_dims;
    const int want[3] = {d->B, d->Hq, d->Lq};
    const char* names[3] = {"batch", "q_heads", "q_len"};
    for (int i = 0; i < 3; ++i)
      if (md[i] != 1 && md[i] != want[i])
        return Status::error(StatusCode::shape_mismatch,
                             "attn_mask dimension %d is %d: it must be 1 or %s = %d (the mask "
                             "broadcasts to [batch, q_heads, q_len, total_len])",
                             i - (4 - m.rank), md[i], names[i], want[i]);
    if (md[3] < 1 || md[3] > d->Lt)
      return Status::error(StatusCode::shape_mismatch,
                           "attn_mask's last dimension is %d: it must be in [1, past_len + kv_len = %d]",
                           md[3], d->Lt);
  }
  if (a.qk_out && (static_cast<int>(a.qk_mode) < 0 || static_cast<int>(a.qk_mode) > 3))
    return Status::error(StatusCode::invalid_argument, "qk_mode must be 0..3, got %d",
                         static_cast<int>(a.qk_mode));
  return Status();
}

Status validate_pointers(const AttentionArgs& a, const CoreDims& d) {
  if (!a.q) return Status::error(StatusCode::null_pointer, "q is null");
  if (!a.y) return Status::error(StatusCode::null_pointer, "y is null");
  if (d.Lkv > 0 && (!a.k || !a.v))
    return Status::error(StatusCode::null_pointer, "k and v must be given when kv_len > 0");
  if (d.Lp > 0 && (!a.past_key || !a.past_value))
    return Status::error(StatusCode::null_pointer,
                         "past_key and past_value must both be given when past_len > 0");
  if (a.mask.type != MaskType::none && !a.mask.data)
    return Status::error(StatusCode::null_pointer, "attn_mask: data is null");
  if ((a.present_key == nullptr) != (a.present_value == nullptr))
    return Status::error(StatusCode::null_pointer,
                         "present_key and present_value must both be given or both be null");
  if (a.nonpad_kv_seqlen)
    for (int b = 0; b < d.B; ++b)
      if (a.nonpad_kv_seqlen[b] < 0 || a.nonpad_kv_seqlen[b] > d.Lt)
        return Status::error(StatusCode::invalid_argument,
                             "nonpad_kv_seqlen[%d] = %lld is outside [0, kv_len = %d]", b,
                             static_cast<long long>(a.nonpad_kv_seqlen[b]), d.Lt);
  return Status();
}

CorePlan make_plan(const CoreDims& d, const KernelTable& k, int threads, bool rows_path) {
  CorePlan p;
  SizeAccumulator acc;
  const auto B = static_cast<std::size_t>(d.B), G = static_cast<std::size_t>(d.G);
  p.kv_ld = round_up(static_cast<std::size_t>(d.Lt), 48);  // a multiple of every port's NR
  p.q = acc.add({B, static_cast<std::size_t>(d.Hq), static_cast<std::size_t>(d.Lq),
                 static_cast<std::size_t>(d.D)});
  p.kt = acc.add({B, G, static_cast<std::size_t>(d.D), p.kv_ld});
  p.v = acc.add({B * G * static_cast<std::size_t>(d.Lt) * d.Dv + kVSlackFloats});
  const std::size_t tile = k.attend_scratch_floats(d.Dv);
  p.scratch_per_slot = round_up(rows_path ? static_cast<std::size_t>(d.Lt) : tile, 16);
  p.scratch = acc.add({p.scratch_per_slot, static_cast<std::size_t>(std::max(1, threads))});
  p.total_floats = acc.total();
  return p;
}

struct CoreContext {
  const AttentionArgs* a = nullptr;
  CoreDims d;
  CorePlan plan;
  const KernelTable* k = nullptr;
  KernelTable::AttendTile attend_tile = nullptr;
  float* ws = nullptr;
  float scale = 1.0f;
  int q_tiles = 0;
  std::ptrdiff_t mask_stride[3] = {0, 0, 0};  // batch, head, row (0 where broadcast)

  // Element (b, head, j, :) of a Q/K/V input in the caller's layout.
  const float* input_row(const float* base, int heads, int len, int width, int b, int h, int j) const {
    if (a->layout == AttentionLayout::bhsd)
      return base + ((static_cast<std::size_t>(b) * heads + h) * len + j) * width;
    return base + (static_cast<std::size_t>(b) * len + j) * heads * width + static_cast<std::size_t>(h) * width;
  }

  kernels::HeadView head_view(int b, int h) const {
    const int g = h / (d.Hq / d.G);
    kernels::HeadView v;
    v.q = ws + plan.q + (static_cast<std::size_t>(b) * d.Hq + h) * d.Lq * d.D;
    v.kt = ws + plan.kt + (static_cast<std::size_t>(b) * d.G + g) * d.D * plan.kv_ld;
    v.v = ws + plan.v + (static_cast<std::size_t>(b) * d.G + g) * d.Lt * d.Dv;
    v.kv_ld = static_cast<std::ptrdiff_t>(plan.kv_ld);
    v.q_len = d.Lq;
    v.kv_total = d.Lt;
    v.head_dim = d.D;
    v.v_dim = d.Dv;
    if (a->layout == AttentionLayout::bhsd) {
      v.out = a->y + (static_cast<std::size_t>(b) * d.Hq + h) * d.Lq * d.Dv;
      v.out_ld = d.Dv;
    } else {
      v.out = a->y + static_cast<std::size_t>(b) * d.Lq * d.Hq * d.Dv + static_cast<std::size_t>(h) * d.Dv;
      v.out_ld = static_cast<std::ptrdiff_t>(d.Hq) * d.Dv;
    }
    return v;
  }

  kernels::MaskView mask_view(int b, int h) const {
    kernels::MaskView m;
    m.kv_len = d.Lt;
    const AttentionMask& am = a->mask;
    if (am.type != MaskType::none) {
      const std::ptrdiff_t off = b * mask_stride[0] + h * mask_stride[1];
      if (am.type == MaskType::additive) m.attn_add = static_cast<const float*>(am.data) + off;
      if (am.type == MaskType::boolean) {
        m.attn_bool = static_cast<const std::uint8_t*>(am.data) + off;
        m.attn_bool_blocks_if_true = am.sense == BoolMaskSense::blocks_if_true;
      }
      m.mask_ld = mask_stride[2];
      m.mask_cols = d.mask_dims[3];
    }
    if (a->nonpad_kv_seqlen) m.valid_keys = static_cast<int>(a->nonpad_kv_seqlen[b]);
    m.causal = a->causal;
    m.causal_offset = a->nonpad_kv_seqlen ? m.valid_keys - d.Lq : d.Lp;
    m.softcap = a->softcap;
    return m;
  }
};

// Stage 1: tasks [0, B·G) gather K and V of one (batch, kv head); then [B·G, B·G + B·Hq) scale
// Q of one (batch, q head).
void gather_task(void* c, std::size_t t, int /*slot*/) {
  const CoreContext& ctx = *static_cast<const CoreContext*>(c);
  const CoreDims& d = ctx.d;
  const AttentionArgs& a = *ctx.a;
  const std::size_t kv_tasks = static_cast<std::size_t>(d.B) * d.G;
  if (t < kv_tasks) {
    const int b = static_cast<int>(t / d.G), g = static_cast<int>(t % d.G);
    float* kt = ctx.ws + ctx.plan.kt + t * d.D * ctx.plan.kv_ld;
    float* v = ctx.ws + ctx.plan.v + t * d.Lt * d.Dv;
    float* pk = a.present_key ? a.present_key + t * d.Lt * d.D : nullptr;
    float* pv = a.present_value ? a.present_value + t * d.Lt * d.Dv : nullptr;
    for (int j = 0; j < d.Lt; ++j) {
      const bool past = j < d.Lp;
      const float* krow = past ? a.past_key + (t * d.Lp + j) * d.D
                               : ctx.input_row(a.k, d.G, d.Lkv, d.D, b, g, j - d.Lp);
      const float* vrow = past ? a.past_value + (t * d.Lp + j) * d.Dv
                               : ctx.input_row(a.v, d.G, d.Lkv, d.Dv, b, g, j - d.Lp);
      for (int i = 0; i < d.D; ++i) kt[static_cast<std::size_t>(i) * ctx.plan.kv_ld + j] = krow[i];
      std::copy(vrow, vrow + d.Dv, v + static_cast<std::size_t>(j) * d.Dv);
      if (pk) std::copy(krow, krow + d.D, pk + static_cast<std::size_t>(j) * d.D);
      if (pv) std::copy(vrow, vrow + d.Dv, pv + static_cast<std::size_t>(j) * d.Dv);
    }
    return;
  }
  t -= kv_tasks;
  const int b = static_cast<int>(t / d.Hq), h = static_cast<int>(t % d.Hq);
  float* q = ctx.ws + ctx.plan.q + t * d.Lq * d.D;
  for (int i = 0; i < d.Lq; ++i) {
    const float* src = ctx.input_row(a.q, d.Hq, d.Lq, d.D, b, h, i);
    for (int e = 0; e < d.D; ++e) q[static_cast<std::size_t>(i) * d.D + e] = src[e] * ctx.scale;
  }
}

void attend_task(void* c, std::size_t t, int slot) {
  const CoreContext& ctx = *static_cast<const CoreContext*>(c);
  const int qt = static_cast<int>(t % ctx.q_tiles);
  t /= ctx.q_tiles;
  const int h = static_cast<int>(t % ctx.d.Hq);
  const int b = static_cast<int>(t / ctx.d.Hq);
  float* scratch = ctx.ws + ctx.plan.scratch + static_cast<std::size_t>(slot) * ctx.plan.scratch_per_slot;
  const int tq = ctx.k->attn_tq;
  const int i0 = qt * tq, rows = std::min(tq, ctx.d.Lq - i0);
  const kernels::HeadView hv = ctx.head_view(b, h);
  const kernels::MaskView mv = ctx.mask_view(b, h);
  if (!ctx.a->qk_out) {
    ctx.attend_tile(hv, mv, i0, rows, scratch);
    return;
  }
  const int mode = static_cast<int>(ctx.a->qk_mode);
  for (int i = i0; i < i0 + rows; ++i) {
    float* qk = ctx.a->qk_out + ((static_cast<std::size_t>(b) * ctx.d.Hq + h) * ctx.d.Lq + i) * ctx.d.Lt;
    kernels::attend_row_with_weights(hv, mv, i, scratch, mode, qk);
  }
}

Status select_kernels(const AttentionArgs& a, const KernelTable** k) {
  char err[160];
  *k = select_port(a.port, err, sizeof(err));
  if (!*k) return Status::error(StatusCode::unsupported, "%s", err);
  return Status();
}

}  // namespace

Status attention_workspace_size(const AttentionArgs& a, int num_threads, std::size_t* bytes) {
  if (!bytes) return Status::error(StatusCode::null_pointer, "bytes is null");
  CoreDims d;
  Status st = validate_dims(a, &d);
  if (!st) return st;
  const KernelTable* k = nullptr;
  st = select_kernels(a, &k);
  if (!st) return st;
  *bytes = make_plan(d, *k, std::max(1, num_threads), a.qk_out != nullptr).total_floats * sizeof(float);
  return Status();
}

Status attention(const AttentionArgs& a, void* workspace, std::size_t workspace_bytes,
                 const Executor& exec) {
  CoreContext ctx;
  Status st = validate_dims(a, &ctx.d);
  if (!st) return st;
  st = validate_pointers(a, ctx.d);
  if (!st) return st;
  st = select_kernels(a, &ctx.k);
  if (!st) return st;
  if (!workspace) return Status::error(StatusCode::null_pointer, "workspace is null");
  if (reinterpret_cast<std::uintptr_t>(workspace) % kWorkspaceAlignment != 0)
    return Status::error(StatusCode::invalid_argument, "workspace must be %zu-byte aligned",
                         kWorkspaceAlignment);
  ctx.plan = make_plan(ctx.d, *ctx.k, exec.num_threads(), a.qk_out != nullptr);
  if (workspace_bytes < ctx.plan.total_floats * sizeof(float))
    return Status::error(StatusCode::workspace_too_small, "workspace has %zu bytes, this call needs %zu",
                         workspace_bytes, ctx.plan.total_floats * sizeof(float));

  const CoreDims& d = ctx.d;
  ctx.a = &a;
  ctx.ws = static_cast<float*>(workspace);
  ctx.scale = a.scale ? *a.scale : 1.0f / std::sqrt(static_cast<float>(d.D));
  ctx.q_tiles = (d.Lq + ctx.k->attn_tq - 1) / ctx.k->attn_tq;
  ctx.attend_tile = ctx.k->attend_tile_for(d.D, d.Dv);
  const int* md = d.mask_dims;
  ctx.mask_stride[2] = md[2] == 1 ? 0 : md[3];
  ctx.mask_stride[1] = md[1] == 1 ? 0 : static_cast<std::ptrdiff_t>(md[2]) * md[3];
  ctx.mask_stride[0] = md[0] == 1 ? 0 : static_cast<std::ptrdiff_t>(md[1]) * md[2] * md[3];

  exec.impl().parallel_for(static_cast<std::size_t>(d.B) * (d.G + d.Hq), gather_task, &ctx);
  exec.impl().parallel_for(static_cast<std::size_t>(d.B) * d.Hq * ctx.q_tiles, attend_task, &ctx);
  return Status();
}

Status attention(const AttentionArgs& a, const Executor& exec) {
  std::size_t bytes = 0;
  Status st = attention_workspace_size(a, exec.num_threads(), &bytes);
  if (!st) return st;
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(kWorkspaceAlignment, round_up(std::max<std::size_t>(bytes, 64), kWorkspaceAlignment)),
      std::free);
  if (!ws) return Status::error(StatusCode::out_of_memory, "cannot allocate a %zu-byte workspace", bytes);
  return attention(a, ws.get(), bytes, exec);
}

}  // namespace edgeattn
