// Validation of the attention core's arguments: the sizes a plan is made for, the options a
// run may change under one plan, and the pointers of a run.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/core_plan.hpp"
#include "size_math.hpp"

namespace edgeattn {
namespace {

Status check_size(std::initializer_list<std::size_t> factors, const char* what) {
  std::size_t n = 0;
  if (!checked_product(factors, &n) || n > (static_cast<std::size_t>(-1) >> 4))
    return Status::error(StatusCode::size_overflow, "%s size overflows", what);
  return Status();
}

}  // namespace

// The sizes a plan is made for.
Status validate_sizes(const AttentionArgs& a, CoreDims* d) {
  if (a.layout != AttentionLayout::bhsd && a.layout != AttentionLayout::bsd)
    return Status::error(StatusCode::invalid_argument, "unknown attention layout %d",
                         static_cast<int>(a.layout));
  if (a.batch < 1 || a.q_heads < 1 || a.q_len < 1 || a.head_dim < 1)
    return Status::error(StatusCode::invalid_argument,
                         "batch, q_heads, q_len and head_dim must be >= 1, got %d, %d, %d, %d",
                         a.batch, a.q_heads, a.q_len, a.head_dim);
  if (a.kv_len < 0 || a.past_len < 0 || a.kv_heads < 0 || a.v_head_dim < 0)
    return Status::error(
        StatusCode::invalid_argument,
        "kv_len, past_len, kv_heads and v_head_dim must be >= 0, got %d, %d, %d, %d", a.kv_len,
        a.past_len, a.kv_heads, a.v_head_dim);
  if (a.kv_element_type != ElementType::f32 && a.kv_element_type != ElementType::f16)
    return Status::error(StatusCode::invalid_argument,
                         "kv_element_type must be f32 or f16, got %s (%d) (int8: a KvCache)",
                         element_type_name(a.kv_element_type), static_cast<int>(a.kv_element_type));
  d->kv_type = static_cast<int>(a.kv_element_type);
  d->layout = a.layout;
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
  const auto B = static_cast<std::size_t>(d->B), Hq = static_cast<std::size_t>(d->Hq),
             G = static_cast<std::size_t>(d->G), Lq = static_cast<std::size_t>(d->Lq),
             Lt = static_cast<std::size_t>(d->Lt), D = static_cast<std::size_t>(d->D),
             Dv = static_cast<std::size_t>(d->Dv);
  Status st = check_size({B, Hq, Lq, std::max(D, Dv)}, "Q/Y");
  if (st) st = check_size({B, G, Lt + 64, std::max(D, Dv)}, "K/V");
  if (st) st = check_size({B, Hq, Lq, Lt}, "qk_matmul_output");
  if (!st) return st;

  return Status();
}

// The options a run may change under one plan: scale, softcap, masks, valid lengths, the
// score output's mode. Fills the mask's dims [B, H, L, M], rank padded to 4.
Status validate_options(const AttentionArgs& a, const CoreDims& d, int* mask_dims) {
  for (int i = 0; i < 4; ++i) mask_dims[i] = 1;
  if (a.scale && !std::isfinite(*a.scale))
    return Status::error(StatusCode::invalid_argument, "scale must be finite");
  if (!std::isfinite(a.softcap) || a.softcap < 0.0f)
    return Status::error(StatusCode::invalid_argument, "softcap must be finite and >= 0, got %g",
                         static_cast<double>(a.softcap));
  if (a.nonpad_kv_seqlen && a.past_len > 0)
    return Status::error(StatusCode::invalid_argument,
                         "nonpad_kv_seqlen describes keys passed as k/v (an external cache); it "
                         "cannot be combined with past_key/past_value");
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
    for (int i = 0; i < m.rank; ++i) mask_dims[4 - m.rank + i] = m.dims[i];
    const int* md = mask_dims;
    const int want[3] = {d.B, d.Hq, d.Lq};
    const char* names[3] = {"batch", "q_heads", "q_len"};
    for (int i = 0; i < 3; ++i)
      if (md[i] != 1 && md[i] != want[i])
        return Status::error(StatusCode::shape_mismatch,
                             "attn_mask dimension %d is %d: it must be 1 or %s = %d (the mask "
                             "broadcasts to [batch, q_heads, q_len, total_len])",
                             i - (4 - m.rank), md[i], names[i], want[i]);
    if (md[3] < 1 || md[3] > d.Lt)
      return Status::error(
          StatusCode::shape_mismatch,
          "attn_mask's last dimension is %d: it must be in [1, past_len + kv_len = %d]", md[3],
          d.Lt);
  }
  if (a.qk_out && d.kv_type != static_cast<int>(ElementType::f32))
    return Status::error(StatusCode::unsupported,
                         "qk_out needs kv_element_type f32 (the scores' rows path reads fp32 K)");
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

}  // namespace edgeattn
