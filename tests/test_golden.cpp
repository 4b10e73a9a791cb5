// Golden vectors from torch.nn.MultiheadAttention (tools/scripts/make_golden.py): the library, fed
// the same state dict and inputs, must give torch's output and head-averaged attention weights.
// Tolerance: 1e-5 absolute + 1e-4 relative.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "formats/checkpoint.hpp"
#include "formats/npy.hpp"
#include "test_util.hpp"

using namespace edgeattn;
namespace fs = std::filesystem;

namespace {
std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
}  // namespace

TEST_CASE("PyTorch golden vectors", "[golden][quick]") {
  const fs::path root = fs::path(EDGEATTN_TEST_DATA) / "golden";
  REQUIRE(fs::is_directory(root));
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    const fs::path d = entry.path();
    std::ifstream meta_file(d / "case.json");
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    INFO("case " << d.filename().string() << ": " << meta["description"].get<std::string>());
    const formats::SafeTensors file((d / "weights.safetensors").string());
    const formats::AttentionWeights w =
        formats::load_attention_weights(file, meta["prefix"].get<std::string>(),
                                        meta["heads"].get<int>(), meta.value("kv_heads", 0));
    for (const std::string& port : test::runnable_ports()) {
      INFO("port " << port);
      LayerSpec spec = w.spec();
      spec.port = port.c_str();
      std::unique_ptr<Layer> layer;
      const Status created = Layer::create(spec, &layer);
      INFO(created.message());
      REQUIRE(created.ok());

      const formats::Array q = formats::read_npy((d / "query.npy").string());
      const bool seq_first = meta["seq_first"].get<bool>();
      const bool unbatched = q.shape.size() == 2;
      RunArgs a;
      a.layout = unbatched   ? SequenceLayout::unbatched
                 : seq_first ? SequenceLayout::seq_first
                             : SequenceLayout::batch_first;
      const int B = unbatched ? 1 : static_cast<int>(seq_first ? q.shape[1] : q.shape[0]);
      const int Lq = static_cast<int>(unbatched ? q.shape[0] : seq_first ? q.shape[0] : q.shape[1]);
      const std::vector<float> query = q.to_float();
      std::vector<float> key, value;
      int Lkv = Lq;
      if (fs::exists(d / "key.npy")) {
        const formats::Array k = formats::read_npy((d / "key.npy").string());
        key = k.to_float();
        value = formats::read_npy((d / "value.npy").string()).to_float();
        Lkv = static_cast<int>(unbatched ? k.shape[0] : seq_first ? k.shape[0] : k.shape[1]);
      }
      a.shape = {B, Lq, Lkv};
      a.query = query.data();
      a.key = key.empty() ? nullptr : key.data();
      a.value = value.empty() ? nullptr : value.data();
      a.causal = meta["causal"].get<bool>();
      std::vector<float> mask_f;
      std::vector<std::uint8_t> mask_b, kpm_b;
      if (fs::exists(d / "attn_mask.npy")) {
        const formats::Array m = formats::read_npy((d / "attn_mask.npy").string());
        a.attn_mask.rank = static_cast<int>(m.shape.size());
        for (std::size_t i = 0; i < m.shape.size(); ++i)
          a.attn_mask.dims[i] = static_cast<int>(m.shape[i]);
        if (m.is_bool()) {
          mask_b = m.to_bool();
          a.attn_mask = {MaskType::boolean,
                         mask_b.data(),
                         a.attn_mask.rank,
                         {a.attn_mask.dims[0], a.attn_mask.dims[1], a.attn_mask.dims[2]},
                         BoolMaskSense::blocks_if_true};
        } else {
          mask_f = m.to_float();
          a.attn_mask.type = MaskType::additive;
          a.attn_mask.data = mask_f.data();
        }
      }
      if (fs::exists(d / "key_padding_mask.npy")) {
        kpm_b = formats::read_npy((d / "key_padding_mask.npy").string()).to_bool();
        a.key_padding_mask = {
            MaskType::boolean, kpm_b.data(), {B, Lkv}, BoolMaskSense::blocks_if_true};
      }
      const formats::Array want_out = formats::read_npy((d / "out.npy").string());
      const formats::Array want_w = formats::read_npy((d / "attn_weights.npy").string());
      std::vector<float> out(want_out.elements()), weights(want_w.elements());
      a.output = out.data();
      a.attn_weights = AttnWeightsOutput::averaged;
      a.attn_weights_out = weights.data();
      for (int threads : {1, 2}) {
        Executor exec(threads);
        std::size_t bytes = 0;
        REQUIRE(layer->workspace_size(a.shape, threads, &bytes).ok());
        test::Workspace ws(bytes);
        // Poisoned before every run: a run that writes nothing must not pass on an earlier one.
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::fill(out.begin(), out.end(), nan);
        std::fill(weights.begin(), weights.end(), nan);
        const Status st = layer->run(a, ws.data(), bytes, exec);
        INFO(st.message());
        REQUIRE(st.ok());
        const test::Comparison co = test::compare(out, as_double(want_out.to_float()), 1e-5, 1e-4);
        INFO("output: " << co.describe());
        REQUIRE(co.ok());
        const test::Comparison cw =
            test::compare(weights, as_double(want_w.to_float()), 1e-6, 1e-4);
        INFO("weights: " << cw.describe());
        REQUIRE(cw.ok());
        // The fast path (no weights requested) must agree as well.
        a.attn_weights = AttnWeightsOutput::none;
        std::fill(out.begin(), out.end(), nan);
        REQUIRE(layer->run(a, ws.data(), bytes, exec).ok());
        REQUIRE(test::compare(out, as_double(want_out.to_float()), 1e-5, 1e-4).ok());
        a.attn_weights = AttnWeightsOutput::averaged;
      }
    }
    ++cases;
  }
  REQUIRE(cases >= 11);
}
