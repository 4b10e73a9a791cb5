// libFuzzer target: the attention core and a KV cache on fuzzed configurations. The input
// picks every option of AttentionArgs (tests/core_case.hpp), a data seed, a port, a thread
// count and optionally one corruption of the arguments that attention() must refuse. Valid
// calls are compared with the double-precision oracle; then the same keys go through a KV
// cache in fuzzed blocks and each block's cached attention is compared with the oracle too.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "core_case.hpp"
#include "fuzz_input.hpp"
#include "reference/reference_core.hpp"
#include "test_util.hpp"

using namespace edgeattn;

namespace {

[[noreturn]] void fail(const char* what, const test::CoreCase& c, const std::string& detail) {
  std::fprintf(stderr, "fuzz_attention: %s\n  %s\n  %s\n", what, c.describe().c_str(),
               detail.c_str());
  __builtin_trap();
}

// The fuzz tolerance: 2e-5 + 2e-4·|want| (masked -inf scores must match exactly).
bool close(const std::vector<float>& got, const std::vector<double>& want, std::string* where) {
  const test::Comparison c = test::compare(got, want, 2e-5, 2e-4);
  if (!c.ok()) *where = c.describe();
  return c.ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  test::FuzzInput in{data, size};
  test::CoreCase c =
      test::make_core_case([&](int lo, int hi) { return in.pick(lo, hi); }, in.next());
  static const std::vector<std::string> ports = test::runnable_ports();
  const std::string port = ports[in.next() % ports.size()];
  c.args.port = port.c_str();
  Executor exec(in.pick(1, 3));

  // One corruption that must be refused with a status (never a crash or a write).
  const int corruption = in.pick(0, 11);
  AttentionArgs bad = c.args;
  switch (corruption) {
    case 1:
      bad.q_heads = bad.kv_heads * 2 + 1;
      if (bad.kv_heads == 1) bad.kv_heads = 2;
      break;
    case 2:
      bad.head_dim = -in.pick(0, 5);
      break;
    case 3:
      bad.q = nullptr;
      break;
    case 4:
      bad.mask.type = MaskType::additive;
      bad.mask.data = c.q.data();
      bad.mask.rank = 2;
      bad.mask.dims[0] = bad.q_len + 1;
      bad.mask.dims[1] = 1;
      break;
    case 5:
      bad.softcap = -1.0f;
      break;
    case 6:
      bad.layout = static_cast<AttentionLayout>(7);
      break;
    case 7:
      bad.past_len = bad.past_len + 1;
      bad.past_key = nullptr;
      break;
    case 8:
      bad.q_len = 0;
      break;
    default:
      break;
  }
  if (corruption >= 1 && corruption <= 8) {
    const Status st = attention(bad, exec);
    if (st.ok())
      fail("a corrupted call was accepted", c, "corruption " + std::to_string(corruption));
    if (st.message()[0] == '\0') fail("an error without a message", c, "");
    return 0;
  }

  const Status st = attention(c.args, exec);
  if (!st.ok()) fail("a valid call was refused", c, st.message());
  const reference::CoreResult want = reference::attention_core(c.args);
  std::string where;
  if (!close(c.y, want.y, &where)) fail("Y differs from the reference", c, where);
  if (c.args.qk_out && !close(c.qk, want.qk, &where)) fail("qk_matmul_output differs", c, where);

  // The same keys through a KV cache (4-D, no past, no mask, causal; f32 or f16), in fuzzed
  // blocks.
  const AttentionArgs& a = c.args;
  if (a.past_len || a.kv_len < 1) return 0;
  KvCacheSpec cs;
  cs.batch = a.batch;
  cs.kv_heads = a.kv_heads;
  cs.head_dim = a.head_dim;
  cs.v_head_dim = a.v_head_dim;
  cs.capacity = a.kv_len + in.pick(0, 3);
  const int kv_choice = in.pick(0, 2);
  cs.element_type = kv_choice == 2   ? ElementType::int8
                    : kv_choice == 1 ? ElementType::f16
                                     : ElementType::f32;
  if (cs.element_type == ElementType::f16)  // the oracle sees what the f16 cache holds
    for (std::vector<float>* kv : {&c.k, &c.v})
      for (float& x : *kv) x = test::round_to(x, ElementType::f16);
  if (cs.element_type == ElementType::int8) {  // ... or the int8 one (rows of one head)
    test::dequantize_int8_rows(&c.k, a.head_dim);
    test::dequantize_int8_rows(&c.v, a.v_head_dim ? a.v_head_dim : a.head_dim);
  }
  std::unique_ptr<KvCache> cache;
  if (!KvCache::create(cs, &cache).ok()) fail("KV cache refused", c, "");
  const int Dv = a.v_head_dim ? a.v_head_dim : a.head_dim;
  for (int t = 0; t < a.kv_len;) {
    const int n = std::min(a.kv_len - t, in.pick(1, 4));
    // Block [t, t + n) of every (batch, kv head), 4-D.
    std::vector<float> kb, vb, qb;
    for (int bg = 0; bg < a.batch * a.kv_heads; ++bg)
      for (int j = t; j < t + n; ++j) {
        for (int d = 0; d < a.head_dim; ++d)
          kb.push_back(c.k[(static_cast<std::size_t>(bg) * a.kv_len + j) * a.head_dim + d]);
        for (int d = 0; d < Dv; ++d)
          vb.push_back(c.v[(static_cast<std::size_t>(bg) * a.kv_len + j) * Dv + d]);
      }
    for (int bh = 0; bh < a.batch * a.q_heads; ++bh)
      for (int j = t; j < t + n; ++j)
        for (int d = 0; d < a.head_dim; ++d)
          qb.push_back(
              std::sin(static_cast<float>(bh * 131 + j * 17 + d)));  // queries of the new positions
    if (!cache->append(kb.data(), vb.data(), n).ok()) fail("KV cache append refused", c, "");
    CachedAttentionArgs ca;
    ca.q_heads = a.q_heads;
    ca.q_len = n;
    ca.q = qb.data();
    std::vector<float> y(static_cast<std::size_t>(a.batch) * a.q_heads * n * Dv);
    ca.y = y.data();
    ca.scale = a.scale;
    ca.softcap = a.softcap;
    ca.port = a.port;
    std::size_t bytes = 0;
    if (!attention_workspace_size(*cache, ca, exec.num_threads(), &bytes).ok())
      fail("cached size refused", c, "");
    test::Workspace ws(bytes);
    const Status cst = attention(*cache, ca, ws.data(), bytes, exec);
    if (!cst.ok()) fail("cached attention refused", c, cst.message());
    // Oracle: the block's queries over keys [0, t) as the past and the block as new, causal
    // (bottom-right: query i is position t + i).
    AttentionArgs o;
    o.batch = a.batch;
    o.q_heads = a.q_heads;
    o.kv_heads = a.kv_heads;
    o.q_len = n;
    o.kv_len = n;
    o.past_len = t;
    o.head_dim = a.head_dim;
    o.v_head_dim = a.v_head_dim;
    std::vector<float> pk, pv;
    for (int bg = 0; bg < a.batch * a.kv_heads; ++bg) {
      pk.insert(pk.end(), c.k.begin() + static_cast<std::ptrdiff_t>(bg) * a.kv_len * a.head_dim,
                c.k.begin() + (static_cast<std::ptrdiff_t>(bg) * a.kv_len + t) * a.head_dim);
      pv.insert(pv.end(), c.v.begin() + static_cast<std::ptrdiff_t>(bg) * a.kv_len * Dv,
                c.v.begin() + (static_cast<std::ptrdiff_t>(bg) * a.kv_len + t) * Dv);
    }
    o.q = qb.data();
    o.k = kb.data();
    o.v = vb.data();
    o.past_key = pk.data();
    o.past_value = pv.data();
    o.causal = true;
    o.scale = a.scale;
    o.softcap = a.softcap;
    const reference::CoreResult ow = reference::attention_core(o);
    if (!close(y, ow.y, &where)) fail("cached attention differs from the reference", c, where);
    t += n;
  }
  return 0;
}
