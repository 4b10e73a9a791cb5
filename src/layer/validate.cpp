// Validation of a layer run's arguments: every bad input is a status, checked before anything
// is written. The shape must be the plan's.
#include "layer/layer_impl.hpp"
#include "size_math.hpp"

namespace edgeattn {
namespace {

Status validate_layout(SequenceLayout layout, int batch) {
  if (layout != SequenceLayout::batch_first && layout != SequenceLayout::seq_first &&
      layout != SequenceLayout::unbatched)
    return Status::error(StatusCode::invalid_argument, "unknown sequence layout %d",
                         static_cast<int>(layout));
  if (layout == SequenceLayout::unbatched && batch != 1)
    return Status::error(StatusCode::shape_mismatch, "unbatched input needs batch = 1, got %d",
                         batch);
  return Status();
}

Status validate_mask_type(MaskType t, BoolMaskSense sense, const void* data, const char* what) {
  if (t != MaskType::none && t != MaskType::additive && t != MaskType::boolean)
    return Status::error(StatusCode::invalid_argument, "%s: unknown mask type %d", what,
                         static_cast<int>(t));
  if (t == MaskType::boolean && sense != BoolMaskSense::blocks_if_true &&
      sense != BoolMaskSense::attends_if_true)
    return Status::error(StatusCode::invalid_argument, "%s: unknown boolean mask sense %d", what,
                         static_cast<int>(sense));
  if (t != MaskType::none && !data)
    return Status::error(StatusCode::null_pointer, "%s: data is null", what);
  return Status();
}

Status validate_attn_mask(const AttnMask& m, int B, int H, int Lq, int Lkv) {
  if (m.type == MaskType::none) return Status();
  if (m.rank == 2) {
    if (m.dims[0] != Lq || m.dims[1] != Lkv)
      return Status::error(StatusCode::shape_mismatch,
                           "attn_mask is [%d, %d], expected [q_len=%d, kv_len=%d]", m.dims[0],
                           m.dims[1], Lq, Lkv);
  } else if (m.rank == 3) {
    if (static_cast<long long>(m.dims[0]) != static_cast<long long>(B) * H || m.dims[1] != Lq ||
        m.dims[2] != Lkv)
      return Status::error(StatusCode::shape_mismatch,
                           "attn_mask is [%d, %d, %d], expected [batch*heads=%lld, q_len=%d, "
                           "kv_len=%d]",
                           m.dims[0], m.dims[1], m.dims[2], static_cast<long long>(B) * H, Lq, Lkv);
  } else {
    return Status::error(StatusCode::shape_mismatch, "attn_mask rank must be 2 or 3, got %d",
                         m.rank);
  }
  if (!checked_product({static_cast<std::size_t>(B), static_cast<std::size_t>(H),
                        static_cast<std::size_t>(Lq), static_cast<std::size_t>(Lkv)},
                       nullptr))
    return Status::error(StatusCode::size_overflow, "attn_mask size overflows");
  return Status();
}

// The shape as the caller states it, against the plan's.
Status check_shape(const RunArgs& a, const Shape& planned, int Lkv) {
  const int B = a.shape.batch, Lq = a.shape.q_len;
  if (B <= 0 || Lq <= 0 || Lkv <= 0)
    return Status::error(StatusCode::invalid_argument,
                         "batch, q_len and kv_len must be >= 1, got %d, %d, %d", B, Lq,
                         a.shape.kv_len);
  if (B != planned.batch || Lq != planned.q_len || Lkv != planned.kv_len)
    return Status::error(StatusCode::shape_mismatch,
                         "the run's shape (batch=%d q_len=%d kv_len=%d) is not the plan's "
                         "(batch=%d q_len=%d kv_len=%d)",
                         B, Lq, Lkv, planned.batch, planned.q_len, planned.kv_len);
  return Status();
}

}  // namespace

Status validate_run_args(const LayerImpl& L, const RunArgs& a, const Shape& planned) {
  const int B = a.shape.batch, Lq = a.shape.q_len;
  const bool self_attention = a.key == nullptr && a.value == nullptr;
  const int Lkv = a.shape.kv_len == 0 ? Lq : a.shape.kv_len;
  Status st = validate_layout(a.layout, B);
  if (!st) return st;
  st = check_shape(a, planned, Lkv);
  if (!st) return st;
  if (!a.query) return Status::error(StatusCode::null_pointer, "query is null");
  if (!a.output) return Status::error(StatusCode::null_pointer, "output is null");
  if ((a.key == nullptr) != (a.value == nullptr))
    return Status::error(StatusCode::null_pointer,
                         "key and value must both be given (cross-attention) or both be null "
                         "(self-attention)");
  if (self_attention) {
    if (Lkv != Lq)
      return Status::error(StatusCode::shape_mismatch,
                           "self-attention (key/value null) needs kv_len = q_len, got %d vs %d",
                           Lkv, Lq);
    if (L.kdim != L.embed_dim || L.vdim != L.embed_dim)
      return Status::error(StatusCode::shape_mismatch,
                           "self-attention needs kdim = vdim = embed_dim; this layer has kdim=%d "
                           "vdim=%d embed_dim=%d: pass key and value",
                           L.kdim, L.vdim, L.embed_dim);
  }
  st = validate_mask_type(a.attn_mask.type, a.attn_mask.sense, a.attn_mask.data, "attn_mask");
  if (!st) return st;
  st = validate_mask_type(a.key_padding_mask.type, a.key_padding_mask.sense,
                          a.key_padding_mask.data, "key_padding_mask");
  if (!st) return st;
  st = validate_attn_mask(a.attn_mask, B, L.num_heads, Lq, Lkv);
  if (!st) return st;
  if (a.key_padding_mask.type != MaskType::none &&
      (a.key_padding_mask.dims[0] != B || a.key_padding_mask.dims[1] != Lkv))
    return Status::error(StatusCode::shape_mismatch,
                         "key_padding_mask is [%d, %d], expected [batch=%d, kv_len=%d]",
                         a.key_padding_mask.dims[0], a.key_padding_mask.dims[1], B, Lkv);
  if (a.attn_weights != AttnWeightsOutput::none && a.attn_weights != AttnWeightsOutput::averaged &&
      a.attn_weights != AttnWeightsOutput::per_head)
    return Status::error(StatusCode::invalid_argument, "unknown attn_weights mode %d",
                         static_cast<int>(a.attn_weights));
  if (a.attn_weights != AttnWeightsOutput::none) {
    if (!a.attn_weights_out)
      return Status::error(StatusCode::null_pointer,
                           "attn_weights requested but attn_weights_out is null");
    if (!checked_product({static_cast<std::size_t>(B), static_cast<std::size_t>(L.num_heads),
                          static_cast<std::size_t>(Lq), static_cast<std::size_t>(Lkv) + 1},
                         nullptr))
      return Status::error(StatusCode::size_overflow, "attention weights size overflows");
  }
  return Status();
}

Status validate_decode_args(const LayerImpl& /*L*/, const RunArgs& a, const Shape& planned) {
  Status st = validate_layout(a.layout, a.shape.batch);
  if (!st) return st;
  if (a.key || a.value)
    return Status::error(StatusCode::invalid_argument,
                         "decode is self-attention over the cache: key and value must be null");
  if (a.shape.kv_len != 0 && a.shape.kv_len != a.shape.q_len)
    return Status::error(StatusCode::shape_mismatch, "decode: kv_len must be 0 or q_len, got %d",
                         a.shape.kv_len);
  st = check_shape(a, planned, a.shape.q_len);
  if (!st) return st;
  if (a.attn_mask.type != MaskType::none || a.key_padding_mask.type != MaskType::none ||
      a.attn_weights != AttnWeightsOutput::none)
    return Status::error(StatusCode::unsupported,
                         "decode: masks and attention weights are not supported (causal is "
                         "implied)");
  if (!a.query) return Status::error(StatusCode::null_pointer, "query is null");
  if (!a.output) return Status::error(StatusCode::null_pointer, "output is null");
  return Status();
}

}  // namespace edgeattn
