// libFuzzer target: create() + run() on fuzzed specs, shapes, masks and argument mistakes, at
// small sizes. The input picks a configuration (every option the API has), a data seed, a
// port, and optionally one corruption of the arguments that run() must refuse. Valid runs are
// compared with the double-precision reference at the test suite's tolerance.
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "fuzz_input.hpp"
#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

namespace {

[[noreturn]] void fail(const char* what, const CaseConfig& cfg, const char* detail) {
  std::fprintf(stderr, "fuzz_run: %s\n  %s\n  %s\n", what, cfg.describe().c_str(), detail);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  test::FuzzInput in{data, size};
  CaseConfig c;
  c.num_heads = in.pick(1, 4);
  c.embed_dim = c.num_heads * in.pick(1, 9);
  const int g = in.pick(1, c.num_heads);
  c.num_kv_heads = c.num_heads % g == 0 ? g : 0;
  c.weight_layout = in.flip() ? WeightLayout::in_out : WeightLayout::out_in;
  c.q_bias = in.flip(), c.k_bias = in.flip(), c.v_bias = in.flip(), c.out_bias = in.flip();
  c.bias_kv = in.pick(0, 7) == 0;
  if (const int s = in.next(); s < 64) c.scale = static_cast<float>(s) / 16.0f;
  c.layout = static_cast<SequenceLayout>(in.pick(0, 2));
  c.batch = c.layout == SequenceLayout::unbatched ? 1 : in.pick(1, 3);
  c.q_len = in.pick(1, 12);
  c.cross = in.flip();
  c.kv_len = c.cross ? in.pick(1, 12) : c.q_len;
  if (c.cross && in.flip()) {
    c.kdim = in.pick(1, 8);
    c.vdim = in.pick(1, 8);
  }
  c.attn_mask = static_cast<MaskType>(in.pick(0, 2));
  c.attn_mask_rank = in.flip() ? 3 : 2;
  c.attn_mask_sense = in.flip() ? BoolMaskSense::attends_if_true : BoolMaskSense::blocks_if_true;
  c.key_padding_mask = static_cast<MaskType>(in.pick(0, 2));
  c.kpm_sense = in.flip() ? BoolMaskSense::attends_if_true : BoolMaskSense::blocks_if_true;
  c.causal = in.flip();
  c.weights = static_cast<AttnWeightsOutput>(in.pick(0, 2));
  // The reference rounds (f16, bf16) or quantizes (int8) as the layer does.
  c.weight_type = static_cast<ElementType>(in.pick(0, 3));
  c.weight_source = static_cast<ElementType>(in.pick(0, 2));
  std::uint32_t seed = 0;
  for (int i = 0; i < 4; ++i) seed = seed << 8 | in.next();
  const std::vector<std::string> ports = runnable_ports();
  const std::string port = ports[in.next() % ports.size()];
  const int corruption = in.pick(0, 15);  // 0..9: none

  const Case k = make_case(c, seed);
  LayerSpec spec = k.spec();
  spec.port = port.c_str();
  std::unique_ptr<Layer> layer;
  const Status created = Layer::create(spec, &layer);
  if (!created) fail("create refused a valid spec", c, created.message());
  Executor exec(1 + static_cast<int>(seed % 2));
  std::size_t bytes = 0;
  if (!layer->workspace_size({c.batch, c.q_len, c.kv_len}, exec.num_threads(), &bytes).ok())
    fail("workspace_size failed", c, "");
  Workspace ws(bytes + 64);
  std::vector<float> out(k.output_size()), weights(k.weights_size() + 1);
  RunArgs a = k.args(out.data(), weights.data());
  void* workspace = ws.data();
  std::size_t workspace_bytes = bytes;
  bool corrupt = true;
  switch (corruption) {
    case 10:
      a.attn_mask.type = MaskType::additive;
      a.attn_mask.dims[a.attn_mask.rank - 1] += 1;
      a.attn_mask.data = k.query.data();
      break;  // declared larger than the shape
    case 11:
      a.key_padding_mask.type = MaskType::boolean;
      a.key_padding_mask.dims[0] = c.batch + 1;
      a.key_padding_mask.data = k.query.data();
      break;
    case 12:
      workspace_bytes = bytes - 1 - in.next() % 8;
      break;
    case 13:
      workspace = static_cast<char*>(ws.data()) + 4;
      break;
    case 14:
      a.attn_mask.type = static_cast<MaskType>(3 + in.next());
      break;
    case 15:
      a.attn_weights = AttnWeightsOutput::per_head;
      a.attn_weights_out = nullptr;
      break;
    default:
      corrupt = false;
  }
  const Status st = layer->run(a, workspace, workspace_bytes, exec);
  if (corrupt) {
    if (st.ok()) fail("run accepted corrupted arguments", c, "");
    return 0;
  }
  if (!st) fail("run refused valid arguments", c, st.message());
  const reference::Result want =
      reference::multi_head_attention(k.spec(), k.args(nullptr, nullptr));
  const Comparison cmp = compare(out, want.output, reference_atol(c, want), 1e-4);
  if (!cmp.ok()) fail("output differs from the reference", c, cmp.describe().c_str());
  if (c.weights != AttnWeightsOutput::none) {
    weights.pop_back();
    const Comparison cw = compare(
        weights, c.weights == AttnWeightsOutput::averaged ? want.weights_avg : want.weights_head,
        1e-5, 1e-4);
    if (!cw.ok()) fail("attention weights differ from the reference", c, cw.describe().c_str());
  }
  return 0;
}
