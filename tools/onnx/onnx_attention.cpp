#include "onnx/onnx_attention.hpp"

#include <stdexcept>
#include <string>

namespace edgeattn::formats {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw FormatError(msg); }

int dim(const Array& a, std::size_t i) { return static_cast<int>(a.shape[i]); }

void expect_float(const Array& a, const char* name) {
  if (!a.is_float()) fail(std::string(name) + " must be a float array, got " + dtype_name(a.dtype));
}

void expect_shape(const Array& a, const char* name, const std::vector<std::size_t>& want) {
  if (a.shape != want) {
    Array w;
    w.shape = want;
    fail(std::string(name) + " has shape " + a.shape_string() + ", expected " + w.shape_string());
  }
}

}  // namespace

SdpaOutputs run_sdpa(const SdpaInputs& in, const Executor& executor) {
  expect_float(in.q, "Q");
  expect_float(in.k, "K");
  expect_float(in.v, "V");
  const std::size_t rank = in.q.shape.size();
  if (rank != 3 && rank != 4)
    fail("Q must be 3-D [batch, seq, heads*head_dim] or 4-D [batch, heads, seq, head_dim], got " +
         in.q.shape_string());
  if (in.k.shape.size() != rank || in.v.shape.size() != rank)
    fail("Q, K and V must have the same rank, got " + in.q.shape_string() + ", " +
         in.k.shape_string() + ", " + in.v.shape_string());
  for (std::size_t d : in.q.shape)
    if (d == 0 || d > static_cast<std::size_t>(1) << 30)
      fail("Q's shape " + in.q.shape_string() + " is empty or too large");
  for (const Array* t : {&in.k, &in.v})
    for (std::size_t d : t->shape)
      if (d > static_cast<std::size_t>(1) << 30) fail("K or V is too large: " + t->shape_string());

  AttentionArgs a;
  a.batch = dim(in.q, 0);
  if (rank == 4) {
    a.layout = AttentionLayout::bhsd;
    a.q_heads = dim(in.q, 1);
    a.q_len = dim(in.q, 2);
    a.head_dim = dim(in.q, 3);
    a.kv_heads = dim(in.k, 1);
    a.kv_len = dim(in.k, 2);
    a.v_head_dim = dim(in.v, 3);
    if (in.q_heads && in.q_heads != a.q_heads)
      fail("q heads: Q has " + std::to_string(a.q_heads) + ", --q-heads says " +
           std::to_string(in.q_heads));
    if (in.kv_heads && in.kv_heads != a.kv_heads)
      fail("kv heads: K has " + std::to_string(a.kv_heads) + ", --kv-heads says " +
           std::to_string(in.kv_heads));
    expect_shape(in.k, "K", {in.q.shape[0], in.k.shape[1], in.k.shape[2], in.q.shape[3]});
    expect_shape(in.v, "V", {in.q.shape[0], in.k.shape[1], in.k.shape[2], in.v.shape[3]});
  } else {
    if (in.q_heads < 1 || in.kv_heads < 1)
      fail("3-D Q/K/V need the number of query and key/value heads (q_num_heads, kv_num_heads)");
    a.layout = AttentionLayout::bsd;
    a.q_heads = in.q_heads;
    a.kv_heads = in.kv_heads;
    a.q_len = dim(in.q, 1);
    a.kv_len = dim(in.k, 1);
    if (in.q.shape[2] % static_cast<std::size_t>(in.q_heads) != 0)
      fail("Q's last dimension " + std::to_string(in.q.shape[2]) +
           " is not a multiple of q heads " + std::to_string(in.q_heads));
    if (in.k.shape[2] % static_cast<std::size_t>(in.kv_heads) != 0 ||
        in.v.shape[2] % static_cast<std::size_t>(in.kv_heads) != 0)
      fail("K's and V's last dimensions must be multiples of kv heads " +
           std::to_string(in.kv_heads));
    a.head_dim = static_cast<int>(in.q.shape[2] / in.q_heads);
    a.v_head_dim = static_cast<int>(in.v.shape[2] / in.kv_heads);
    expect_shape(in.k, "K",
                 {in.q.shape[0], in.k.shape[1], static_cast<std::size_t>(a.kv_heads) * a.head_dim});
    expect_shape(in.v, "V", {in.q.shape[0], in.k.shape[1], in.v.shape[2]});
  }
  const std::vector<float> q = in.q.to_float(), k = in.k.to_float(), v = in.v.to_float();
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();

  std::vector<float> past_key, past_value;
  if (in.past_key.has_value() != in.past_value.has_value())
    fail("past_key and past_value go together");
  if (in.past_key) {
    expect_float(*in.past_key, "past_key");
    expect_float(*in.past_value, "past_value");
    if (in.past_key->shape.size() != 4)
      fail("past_key must be 4-D [batch, kv_heads, past, head_dim], got " +
           in.past_key->shape_string());
    a.past_len = dim(*in.past_key, 2);
    const auto B = static_cast<std::size_t>(a.batch), G = static_cast<std::size_t>(a.kv_heads),
               P = static_cast<std::size_t>(a.past_len);
    expect_shape(*in.past_key, "past_key", {B, G, P, static_cast<std::size_t>(a.head_dim)});
    expect_shape(*in.past_value, "past_value", {B, G, P, static_cast<std::size_t>(a.v_head_dim)});
    past_key = in.past_key->to_float();
    past_value = in.past_value->to_float();
    a.past_key = past_key.data();
    a.past_value = past_value.data();
  }

  std::vector<float> mask_f;
  std::vector<std::uint8_t> mask_b;
  if (in.attn_mask) {
    const Array& m = *in.attn_mask;
    if (m.shape.size() < 2 || m.shape.size() > 4)
      fail("attn_mask must be 2-D, 3-D or 4-D, got " + m.shape_string());
    a.mask.rank = static_cast<int>(m.shape.size());
    for (std::size_t i = 0; i < m.shape.size(); ++i) {
      if (m.shape[i] > static_cast<std::size_t>(1) << 30)
        fail("attn_mask is too large: " + m.shape_string());
      a.mask.dims[i] = static_cast<int>(m.shape[i]);
    }
    if (m.is_bool()) {
      mask_b = m.to_bool();
      a.mask.type = MaskType::boolean;
      a.mask.data = mask_b.data();
      a.mask.sense = BoolMaskSense::attends_if_true;  // ONNX: true = may attend
    } else if (m.is_float()) {
      mask_f = m.to_float();
      a.mask.type = MaskType::additive;
      a.mask.data = mask_f.data();
    } else {
      fail(std::string("attn_mask must be bool or float, got ") + dtype_name(m.dtype));
    }
  }
  std::vector<std::int64_t> nonpad;
  if (in.nonpad_kv_seqlen) {
    const Array& n = *in.nonpad_kv_seqlen;
    if (n.is_float() || n.is_bool()) fail("nonpad_kv_seqlen must be an integer array");
    expect_shape(n, "nonpad_kv_seqlen", {static_cast<std::size_t>(a.batch)});
    nonpad = n.to_int64();
    a.nonpad_kv_seqlen = nonpad.data();
  }
  a.causal = in.causal;
  a.scale = in.scale;
  a.softcap = in.softcap;
  a.port = in.port;
  a.kv_element_type = in.kv_type;

  SdpaOutputs out;
  out.half = in.q.dtype == DType::f16;
  const auto B = static_cast<std::size_t>(a.batch), Hq = static_cast<std::size_t>(a.q_heads),
             G = static_cast<std::size_t>(a.kv_heads), Lq = static_cast<std::size_t>(a.q_len),
             Lt = static_cast<std::size_t>(a.past_len) + static_cast<std::size_t>(a.kv_len),
             D = static_cast<std::size_t>(a.head_dim), Dv = static_cast<std::size_t>(a.v_head_dim);
  // Shapes are checked (overflow included) by the library before anything is allocated.
  std::size_t bytes = 0;
  Status st = attention_workspace_size(a, executor.num_threads(), &bytes);
  if (!st) throw std::runtime_error(st.message());
  out.y.shape = rank == 4 ? std::vector<std::size_t>{B, Hq, Lq, Dv}
                          : std::vector<std::size_t>{B, Lq, Hq * Dv};
  out.y.data.resize(B * Hq * Lq * Dv);
  a.y = out.y.data.data();
  if (in.want_present) {
    out.present_key = {{B, G, Lt, D}, std::vector<float>(B * G * Lt * D)};
    out.present_value = {{B, G, Lt, Dv}, std::vector<float>(B * G * Lt * Dv)};
    a.present_key = out.present_key.data.data();
    a.present_value = out.present_value.data.data();
  }
  if (in.want_qk) {
    out.qk = {{B, Hq, Lq, Lt}, std::vector<float>(B * Hq * Lq * Lt)};
    a.qk_out = out.qk.data.data();
    a.qk_mode = static_cast<QkOutputMode>(in.qk_mode);
  }
  st = attention(a, executor);
  if (!st) throw std::runtime_error(st.message());
  return out;
}

}  // namespace edgeattn::formats
