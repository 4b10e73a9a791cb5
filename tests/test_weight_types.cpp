// f16, bf16 and int8 weights through the whole layer: against the double reference on the same
// rounded weights (fp32 tightness: only the weights' rounding differs from an f32 layer, and the
// reference applies it too; int8: the reference quantizes weights and activations by the
// documented rule), 16-bit checkpoints read as they are, the thread-count determinism,
// weight_bytes() and the errors of narrowing.
#include <catch2/catch.hpp>

#include <algorithm>

#include <cmath>
#include <cstring>
#include <limits>

#include "check_reference.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

namespace {

CaseConfig gqa_cross_config() {
  CaseConfig cfg;
  cfg.embed_dim = 96;
  cfg.num_heads = 6;
  cfg.num_kv_heads = 2;
  cfg.cross = true;
  cfg.kdim = 40;
  cfg.vdim = 24;
  cfg.q_len = 33;
  cfg.kv_len = 70;
  cfg.key_padding_mask = MaskType::boolean;
  cfg.weight_layout = WeightLayout::in_out;
  return cfg;
}

}  // namespace

TEST_CASE("f16, bf16 and int8 weights match the reference on the same rounded weights, every port",
          "[reference][quick]") {
  for (const ElementType type : {ElementType::f16, ElementType::bf16, ElementType::int8}) {
    for (const ElementType source : {ElementType::f32, ElementType::f16, ElementType::bf16}) {
      for (CaseConfig cfg : {three_head_config(), gqa_cross_config()}) {
        cfg.weight_type = type;
        cfg.weight_source = source;
        require_matches_reference(make_case(cfg, 77));
      }
    }
  }
}

TEST_CASE("f16 weights differ from f32 ones by the rounding of the weights only",
          "[reference][quick]") {
  // The same case with f32 and f16 weights: close (relative RMS within f16's rounding), but not
  // equal: the f16 kernels really read rounded weights.
  CaseConfig cfg = three_head_config();
  const LibraryResult f32 = run_library(make_case(cfg, 5), 2);
  cfg.weight_type = ElementType::f16;
  const LibraryResult f16 = run_library(make_case(cfg, 5), 2);
  REQUIRE(f32.status.ok());
  REQUIRE(f16.status.ok());
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < f32.output.size(); ++i) {
    diff += (double(f16.output[i]) - f32.output[i]) * (double(f16.output[i]) - f32.output[i]);
    norm += double(f32.output[i]) * f32.output[i];
  }
  const double rel = std::sqrt(diff / norm);
  INFO("relative RMS difference " << rel);
  REQUIRE(rel > 1e-6);
  REQUIRE(rel < 1e-3);
}

TEST_CASE("16-bit and int8 weights give the same bits for any thread count", "[threads][quick]") {
  for (const ElementType type : {ElementType::f16, ElementType::bf16, ElementType::int8}) {
    CaseConfig cfg = gqa_cross_config();
    cfg.weight_type = type;
    const Case c = make_case(cfg, 9);
    for (const std::string& port : runnable_ports()) {
      const LibraryResult one = run_library(c, 1, port.c_str());
      REQUIRE(one.status.ok());
      for (int threads : {2, 3, 8}) {
        INFO("port " << port << " threads " << threads);
        const LibraryResult many = run_library(c, threads, port.c_str());
        REQUIRE(many.status.ok());
        REQUIRE(std::memcmp(one.output.data(), many.output.data(),
                            one.output.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("weight_bytes: the packed panels with their padding, and the biases",
          "[weights][quick]") {
  for (const int E : {384, 768, 100}) {
    CaseConfig cfg;
    cfg.embed_dim = E;
    cfg.num_heads = E == 100 ? 5 : 12;
    cfg.q_len = cfg.kv_len = 2;
    const Case c = make_case(cfg, 1);
    for (const std::string& port : runnable_ports()) {
      PortInfo info{};
      REQUIRE(select_port(port.c_str(), &info).ok());
      const std::size_t panels = static_cast<std::size_t>((E + info.gemm_nr - 1) / info.gemm_nr);
      const std::size_t elems = panels * info.gemm_nr * E;  // one E × E matrix, padded
      std::size_t bytes[5] = {};  // by type; [4]: int8 with 8 + 8 outlier features
      const int features[8] = {0, 1, 2, 3, 4, 5, 6, 7};
      for (const int variant : {0, 1, 2, 3, 4}) {
        const ElementType type = static_cast<ElementType>(std::min(variant, 3));
        const int O = variant == 4 ? 8 : 0;
        LayerSpec spec = c.spec();
        spec.port = port.c_str();
        spec.weight_type = type;
        spec.int8_outliers = {features, O, features, O};
        std::unique_ptr<Layer> layer;
        REQUIRE(Layer::create(spec, &layer).ok());
        REQUIRE(layer->weight_type() == type);
        // int8: the panels (K rounded up to 4, here E is), then a scale per padded column, the
        // outlier features and their f16 weights, each part 64-byte aligned.
        const std::size_t columns = panels * info.gemm_nr;
        auto round64 = [](std::size_t x) { return (x + 63) / 64 * 64; };
        const std::size_t matrix =
            type == ElementType::int8
                ? round64(elems) + round64(columns * 4) + round64(O * 4) + round64(O * columns * 2)
                : round64(elems * element_size(type));
        const std::size_t want = 4 * matrix + 4 * sizeof(float) * E;  // 4 biases of E floats
        INFO("port " << port << " E " << E << " type " << element_type_name(type) << " outliers "
                     << O);
        REQUIRE(layer->weight_bytes() == want);
        bytes[variant] = layer->weight_bytes();
      }
      REQUIRE(bytes[1] == bytes[2]);
      if (E >= 384) {  // the bounds
        REQUIRE(double(bytes[1]) / double(bytes[0]) <= 0.52);
        REQUIRE(double(bytes[3]) / double(bytes[0]) <= 0.27);
        REQUIRE(double(bytes[4]) / double(bytes[0]) <= 0.27);
      }
    }
  }
}

TEST_CASE("narrowing a weight that does not fit is an error, not an infinity", "[errors][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 2;
  Case c = make_case(cfg, 3);
  c.wk[5] = 70000.0f;  // beyond f16's 65504, fine for bf16
  LayerSpec spec = c.spec();
  std::unique_ptr<Layer> layer;
  spec.weight_type = ElementType::f16;
  Status st = Layer::create(spec, &layer);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::strstr(st.message(), "1 weights of k are too large for f16") != nullptr);
  REQUIRE_FALSE(layer);
  spec.weight_type = ElementType::bf16;
  REQUIRE(Layer::create(spec, &layer).ok());
  // An infinity or NaN the caller gave is not an overflow: it is kept, as f32 keeps it.
  c.wk[5] = std::numeric_limits<float>::infinity();
  spec = c.spec();
  spec.weight_type = ElementType::f16;
  REQUIRE(Layer::create(spec, &layer).ok());
  // Unknown types.
  spec.weight_type = static_cast<ElementType>(7);
  st = Layer::create(spec, &layer);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::strstr(st.message(), "unknown element type") != nullptr);
  spec.weight_type = ElementType::f32;
  spec.weights.element_type = static_cast<ElementType>(-1);
  REQUIRE(Layer::create(spec, &layer).code() == StatusCode::invalid_argument);
  REQUIRE(std::string(element_type_name(static_cast<ElementType>(7))) == "unknown");
  // int8: a weight type only, finite weights, input widths within int32 accumulation.
  c.wk[5] = 0.25f;
  spec = c.spec();
  spec.weights.element_type = ElementType::int8;
  st = Layer::create(spec, &layer);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::strstr(st.message(), "source weights are f32, f16 or bf16") != nullptr);
  spec = c.spec();
  spec.weight_type = ElementType::int8;
  REQUIRE(Layer::create(spec, &layer).ok());
  c.wv[2] = std::numeric_limits<float>::quiet_NaN();
  spec = c.spec();
  spec.weight_type = ElementType::int8;
  st = Layer::create(spec, &layer);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::strstr(st.message(), "1 weights of v are not finite") != nullptr);
  spec.kdim = 70000;
  st = Layer::create(spec, &layer);
  REQUIRE(st.code() == StatusCode::invalid_argument);
  REQUIRE(std::strstr(st.message(), "<= 65536") != nullptr);
  REQUIRE(element_size(static_cast<ElementType>(7)) == 0);
}

TEST_CASE("int8 outlier features: calibration, and the spec's checks", "[weights][int8][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 16;
  cfg.num_heads = 2;
  cfg.q_len = cfg.kv_len = 5;
  Case c = make_case(cfg, 9);
  for (int l = 0; l < cfg.q_len; ++l) c.query[l * 16 + 11] = 40.0f + l;  // an outlier feature
  std::unique_ptr<Layer> f32;
  REQUIRE(Layer::create(c.spec(), &f32).ok());
  std::vector<float> out(c.output_size());
  const RunArgs args = c.args(out.data(), nullptr);
  Int8Calibration stats;
  REQUIRE(f32->calibrate_int8(args, &stats).ok());
  REQUIRE(stats.inputs_amax.size() == 16);
  REQUIRE(stats.heads_amax.size() == 16);
  for (int f = 0; f < 16; ++f) {  // the largest |x| of each input feature, exactly
    float want = 0.0f;
    for (int l = 0; l < cfg.q_len; ++l) want = std::max(want, std::fabs(c.query[l * 16 + f]));
    REQUIRE(stats.inputs_amax[f] == want);
    REQUIRE(stats.heads_amax[f] > 0.0f);
  }
  // The run itself is the layer's: its output is what run() writes.
  std::vector<float> y(c.output_size());
  Executor exec(1);
  std::size_t bytes = 0;
  REQUIRE(f32->workspace_size(args.shape, 1, &bytes).ok());
  Workspace ws(bytes);
  REQUIRE(f32->run(c.args(y.data(), nullptr), ws.data(), bytes, exec).ok());
  REQUIRE(std::memcmp(y.data(), out.data(), y.size() * sizeof(float)) == 0);
  const std::vector<int> top = stats.top_inputs(3);
  REQUIRE(top.size() == 3);
  REQUIRE(top[0] == 11);
  REQUIRE(stats.inputs_amax[top[1]] >= stats.inputs_amax[top[2]]);
  REQUIRE(stats.top_heads(20).size() == kInt8MaxOutliers);  // clamped
  Int8Calibration ties;  // ties to the lower index; NaN is never the largest
  ties.inputs_amax = {1.0f, 3.0f, 3.0f, std::nanf(""), 2.0f};
  REQUIRE(ties.top_inputs(8) == std::vector<int>{1, 2, 4, 0, 3});
  REQUIRE(ties.top_inputs(-2).empty());
  // Wrong-sized stats, and a null pointer, are errors.
  Int8Calibration wrong;
  wrong.inputs_amax.assign(3, 0.0f);
  REQUIRE(f32->calibrate_int8(args, &wrong).code() == StatusCode::shape_mismatch);
  REQUIRE(f32->calibrate_int8(args, nullptr).code() == StatusCode::null_pointer);

  // The features go into an int8 layer; every malformed list is an error naming the list.
  const std::vector<int> heads = stats.top_heads(2);
  LayerSpec spec = c.spec();
  spec.weight_type = ElementType::int8;
  spec.int8_outliers = {top.data(), 3, heads.data(), 2};
  std::unique_ptr<Layer> int8;
  REQUIRE(Layer::create(spec, &int8).ok());
  const int nine[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, twice[2] = {3, 3}, beyond[1] = {16};
  const struct {
    Int8Outliers outliers;
    ElementType type;
    const char* fragment;
  } bad[] = {
      {{nine, 9, nullptr, 0}, ElementType::int8, "inputs_count must be in [0, 8]"},
      {{nullptr, 0, nine, -1}, ElementType::int8, "heads_count must be in [0, 8]"},
      {{nullptr, 2, nullptr, 0}, ElementType::int8, "int8_outliers.inputs is null"},
      {{twice, 2, nullptr, 0}, ElementType::int8, "lists feature 3 twice"},
      {{nullptr, 0, beyond, 1}, ElementType::int8, "heads[0] = 16 is not a feature"},
      {{nine, 2, nullptr, 0}, ElementType::f16, "int8_outliers are for weight_type int8"},
  };
  for (const auto& b : bad) {
    spec.int8_outliers = b.outliers;
    spec.weight_type = b.type;
    const Status st = Layer::create(spec, &int8);
    INFO(st.message());
    REQUIRE_FALSE(st.ok());
    REQUIRE(std::strstr(st.message(), b.fragment) != nullptr);
  }
}
