// Every bad input gets a status with a message, and run() writes nothing when it refuses.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "test_util.hpp"

using namespace edgeattn;
using namespace edgeattn::test;

namespace {

Status create(const LayerSpec& s) {
  std::unique_ptr<Layer> layer;
  const Status st = Layer::create(s, &layer);
  REQUIRE((st.ok() == (layer != nullptr)));
  return st;
}

void require_error(const Status& st, StatusCode code, const char* fragment) {
  INFO("status: " << status_code_name(st.code()) << ": " << st.message());
  REQUIRE(st.code() == code);
  REQUIRE(std::strstr(st.message(), fragment) != nullptr);
}

}  // namespace

TEST_CASE("create rejects bad specs", "[errors][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 12;
  cfg.num_heads = 3;
  const Case c = make_case(cfg, 1);
  REQUIRE(create(c.spec()).ok());

  LayerSpec s = c.spec();
  s.num_heads = 5;
  require_error(create(s), StatusCode::invalid_argument, "does not divide");
  s = c.spec();
  s.num_heads = 0;
  require_error(create(s), StatusCode::invalid_argument, "num_heads");
  s = c.spec();
  s.embed_dim = -4;
  require_error(create(s), StatusCode::invalid_argument, "embed_dim");
  s = c.spec();
  s.num_kv_heads = 2;
  require_error(create(s), StatusCode::invalid_argument, "num_kv_heads");
  s = c.spec();
  s.weights.q = nullptr;
  require_error(create(s), StatusCode::null_pointer, "weights.q");
  s = c.spec();
  s.weights.out = nullptr;
  require_error(create(s), StatusCode::null_pointer, "weights.out");
  s = c.spec();
  s.scale = std::numeric_limits<float>::infinity();
  require_error(create(s), StatusCode::invalid_argument, "scale");
  s = c.spec();
  s.scale = std::numeric_limits<float>::quiet_NaN();
  require_error(create(s), StatusCode::invalid_argument, "scale");
  s = c.spec();
  s.weights.bias_k = c.wq.data();
  require_error(create(s), StatusCode::invalid_argument, "bias_v");
  s = c.spec();
  s.weight_layout = static_cast<WeightLayout>(7);
  require_error(create(s), StatusCode::invalid_argument, "weight_layout");
  require_error(Layer::create(c.spec(), nullptr), StatusCode::null_pointer, "null");
  s = c.spec();
  s.port = "x86-avx512-imaginary";
  require_error(create(s), StatusCode::unsupported, "unknown port");
}

TEST_CASE("run rejects bad arguments and leaves the output untouched", "[errors][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 8;
  cfg.num_heads = 2;
  cfg.batch = 2;
  cfg.q_len = 5;
  cfg.kv_len = 6;
  cfg.cross = true;
  cfg.attn_mask = MaskType::boolean;
  cfg.key_padding_mask = MaskType::additive;
  const Case c = make_case(cfg, 2);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  Executor exec(2);
  std::size_t bytes = 0;
  REQUIRE(layer->workspace_size({2, 5, 6}, exec.num_threads(), &bytes).ok());
  Workspace ws(bytes + 64);
  std::vector<float> out(c.output_size(), 42.0f);
  const RunArgs good = c.args(out.data(), nullptr);
  auto run = [&](const RunArgs& a) { return layer->run(a, ws.data(), ws.bytes, exec); };
  REQUIRE(run(good).ok());
  std::fill(out.begin(), out.end(), 42.0f);

  RunArgs a = good;
  a.query = nullptr;
  require_error(run(a), StatusCode::null_pointer, "query");
  a = good;
  a.output = nullptr;
  require_error(run(a), StatusCode::null_pointer, "output");
  a = good;
  a.key = nullptr;
  require_error(run(a), StatusCode::null_pointer, "both");
  a = good;
  a.key = a.value = nullptr;
  require_error(run(a), StatusCode::shape_mismatch, "self-attention");
  a = good;
  a.shape.q_len = 0;
  require_error(run(a), StatusCode::invalid_argument, "q_len");
  a = good;
  a.shape.batch = -1;
  require_error(run(a), StatusCode::invalid_argument, "batch");
  a = good;
  a.layout = SequenceLayout::unbatched;
  require_error(run(a), StatusCode::shape_mismatch, "unbatched");
  a = good;
  a.attn_mask.dims[1] = 7;
  require_error(run(a), StatusCode::shape_mismatch, "attn_mask");
  a = good;
  a.attn_mask.rank = 3;
  a.attn_mask.dims[0] = 3;
  a.attn_mask.dims[1] = 5;
  a.attn_mask.dims[2] = 6;
  require_error(run(a), StatusCode::shape_mismatch, "batch*heads");
  a = good;
  a.attn_mask.rank = 4;
  require_error(run(a), StatusCode::shape_mismatch, "rank");
  a = good;
  a.attn_mask.data = nullptr;
  require_error(run(a), StatusCode::null_pointer, "attn_mask");
  a = good;
  a.attn_mask.type = static_cast<MaskType>(9);
  require_error(run(a), StatusCode::invalid_argument, "mask type");
  a = good;
  a.attn_mask.sense = static_cast<BoolMaskSense>(5);
  require_error(run(a), StatusCode::invalid_argument, "sense");
  a = good;
  a.key_padding_mask.dims[0] = 1;
  require_error(run(a), StatusCode::shape_mismatch, "key_padding_mask");
  a = good;
  a.attn_weights = AttnWeightsOutput::averaged;
  require_error(run(a), StatusCode::null_pointer, "attn_weights_out");
  a = good;
  a.layout = static_cast<SequenceLayout>(3);
  require_error(run(a), StatusCode::invalid_argument, "layout");
  // Workspace problems.
  require_error(layer->run(good, nullptr, bytes, exec), StatusCode::null_pointer, "workspace");
  require_error(layer->run(good, ws.data(), bytes - 1, exec), StatusCode::workspace_too_small,
                "needs");
  require_error(layer->run(good, static_cast<char*>(ws.data()) + 4, bytes, exec),
                StatusCode::invalid_argument, "aligned");
  Executor more(4);               // more threads need more per-slot scratch than was planned
  if (more.num_threads() == 4) {  // not in serial-executor builds, where every executor has 1
    std::size_t bytes4 = 0;
    REQUIRE(layer->workspace_size({2, 5, 6}, 4, &bytes4).ok());  // planned for 4 threads
    REQUIRE(bytes4 > bytes);
    require_error(layer->run(good, ws.data(), bytes, more), StatusCode::workspace_too_small,
                  "threads=4");
  }
  // A layer without an owned workspace.
  require_error(layer->run(good), StatusCode::invalid_argument, "owns no workspace");
  for (float y : out) REQUIRE(y == 42.0f);
}

TEST_CASE("self-attention on a layer with kdim != embed_dim is refused", "[errors][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 8;
  cfg.num_heads = 2;
  cfg.kdim = 5;
  cfg.vdim = 3;
  cfg.cross = true;
  Case c = make_case(cfg, 4);
  std::vector<float> out(c.output_size());
  RunArgs a = c.args(out.data(), nullptr);
  a.key = a.value = nullptr;
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  Executor exec(1);
  std::size_t bytes = 0;
  REQUIRE(layer->workspace_size(a.shape, 1, &bytes).ok());
  Workspace ws(bytes);
  require_error(layer->run(a, ws.data(), bytes, exec), StatusCode::shape_mismatch, "kdim");
}

TEST_CASE("sizes whose products overflow are rejected, never wrapped", "[errors][quick]") {
  CaseConfig cfg;
  cfg.embed_dim = 1024;
  cfg.num_heads = 16;
  const Case c = make_case(cfg, 5);
  std::unique_ptr<Layer> layer;
  REQUIRE(Layer::create(c.spec(), &layer).ok());
  std::size_t bytes = 0;
  const int big = std::numeric_limits<int>::max();
  require_error(layer->workspace_size({big, big, big}, 1, &bytes), StatusCode::size_overflow,
                "overflows");
  require_error(layer->workspace_size({1, 4, 4}, 0, &bytes), StatusCode::invalid_argument,
                "num_threads");
  require_error(layer->workspace_size({1, 4, 4}, 1, nullptr), StatusCode::null_pointer, "bytes");
}

TEST_CASE("workspace has no term in q_len * kv_len", "[errors][quick]") {
  // Doubling the sequence length at most doubles the workspace (S5-like layer, every port).
  CaseConfig cfg;
  cfg.embed_dim = 384;
  cfg.num_heads = 6;
  const Case c = make_case(cfg, 6);
  for (const std::string& port : runnable_ports()) {
    LayerSpec spec = c.spec();
    spec.port = port.c_str();
    std::unique_ptr<Layer> layer;
    REQUIRE(Layer::create(spec, &layer).ok());
    for (int len : {750, 1500, 3000}) {
      std::size_t one = 0, two = 0;
      REQUIRE(layer->workspace_size({1, len, len}, 2, &one).ok());
      REQUIRE(layer->workspace_size({1, 2 * len, 2 * len}, 2, &two).ok());
      INFO(port << " len " << len << ": " << one << " -> " << two);
      REQUIRE(two <= 2 * one);
      if (len == 1500) REQUIRE(one <= 12u * 1000 * 1000);  // S5 within 12 MB
    }
  }
}
