#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "kernels/convert.hpp"

namespace edgeattn::test {
namespace {

const char* name(MaskType t) {
  return t == MaskType::none ? "none" : t == MaskType::additive ? "additive" : "bool";
}
const char* name(SequenceLayout l) {
  return l == SequenceLayout::batch_first ? "batch_first"
         : l == SequenceLayout::seq_first ? "seq_first"
                                          : "unbatched";
}

std::vector<float> uniform(std::mt19937& rng, std::size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

}  // namespace

std::string CaseConfig::describe() const {
  std::ostringstream s;
  s << "E=" << embed_dim << " H=" << num_heads << " G=" << (num_kv_heads ? num_kv_heads : num_heads)
    << " hd=" << embed_dim / num_heads << " kdim=" << kdim << " vdim=" << vdim
    << " layout=" << name(layout) << " B=" << batch << " Lq=" << q_len << " Lkv=" << kv_len
    << " cross=" << cross
    << " weights=" << (weight_layout == WeightLayout::out_in ? "out_in" : "in_out")
    << " bias(q,k,v,o,kv)=" << q_bias << k_bias << v_bias << out_bias << bias_kv
    << " scale=" << (scale ? std::to_string(*scale) : "default") << " attn_mask=" << name(attn_mask)
    << "/rank" << attn_mask_rank << "/"
    << (attn_mask_sense == BoolMaskSense::blocks_if_true ? "blocks" : "attends")
    << " kpm=" << name(key_padding_mask) << " causal=" << causal
    << " weights_out=" << static_cast<int>(weights)
    << " weight_type=" << element_type_name(weight_type) << " from "
    << element_type_name(weight_source) << " int8 outliers=" << int8_inputs.size() << "/"
    << int8_heads.size();
  return s.str();
}

CaseConfig three_head_config() {
  CaseConfig cfg;
  cfg.embed_dim = 96;
  cfg.num_heads = 3;
  cfg.q_len = cfg.kv_len = 97;
  cfg.attn_mask = MaskType::additive;
  return cfg;
}

CaseConfig random_config(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto coin = [&](double p) { return std::bernoulli_distribution(p)(rng); };
  CaseConfig c;
  // head_dim 1..128, odd ones included; keep E moderate so the double reference stays quick.
  static const int head_dims[] = {1,  2,  3,  5,  7,  8,  13, 16,  17, 31,
                                  32, 33, 48, 64, 65, 80, 96, 127, 128};
  const int hd = head_dims[pick(0, static_cast<int>(std::size(head_dims)) - 1)];
  const int max_heads = std::max(1, std::min(6, 256 / hd));
  c.num_heads = pick(1, max_heads);
  c.embed_dim = c.num_heads * hd;
  if (coin(0.2)) {  // grouped-query attention
    std::vector<int> divisors;
    for (int g = 1; g <= c.num_heads; ++g)
      if (c.num_heads % g == 0) divisors.push_back(g);
    c.num_kv_heads = divisors[pick(0, static_cast<int>(divisors.size()) - 1)];
  }
  c.weight_layout = coin(0.5) ? WeightLayout::out_in : WeightLayout::in_out;
  c.q_bias = coin(0.8);
  c.k_bias = coin(0.7);
  c.v_bias = coin(0.8);
  c.out_bias = coin(0.8);
  c.bias_kv = coin(0.15);
  if (coin(0.2)) c.scale = std::uniform_real_distribution<float>(0.01f, 1.0f)(rng);
  const int layout = pick(0, 2);
  c.layout = static_cast<SequenceLayout>(layout);
  c.batch = c.layout == SequenceLayout::unbatched ? 1 : pick(1, 4);
  const int max_len = c.batch > 2 ? 100 : 300;
  c.q_len = coin(0.2) ? pick(1, 3) : pick(1, max_len);
  c.cross = coin(0.4);
  c.kv_len = c.cross ? (coin(0.2) ? pick(1, 3) : pick(1, max_len)) : c.q_len;
  if (c.cross && coin(0.5)) {
    c.kdim = pick(1, 96);
    c.vdim = coin(0.5) ? c.kdim : pick(1, 96);
  }
  c.attn_mask = static_cast<MaskType>(pick(0, 2));
  c.attn_mask_rank = coin(0.5) ? 2 : 3;
  c.attn_mask_sense = coin(0.7) ? BoolMaskSense::blocks_if_true : BoolMaskSense::attends_if_true;
  c.key_padding_mask = static_cast<MaskType>(pick(0, 2));
  c.kpm_sense = coin(0.7) ? BoolMaskSense::blocks_if_true : BoolMaskSense::attends_if_true;
  c.causal = coin(0.3);
  c.weights = static_cast<AttnWeightsOutput>(coin(0.7) ? 0 : pick(1, 2));
  // Weight types are drawn too (half the cases stay f32), and sometimes given in 16 bits.
  c.weight_type = coin(0.5) ? ElementType::f32 : static_cast<ElementType>(pick(1, 3));
  if (coin(0.3)) c.weight_source = static_cast<ElementType>(pick(0, 2));
  if (c.weight_type == ElementType::int8 && coin(0.6)) {  // outlier features, distinct
    auto draw = [&](int width, std::vector<int>* list) {
      const int count = pick(0, std::min(8, width));
      while (static_cast<int>(list->size()) < count) {
        const int f = pick(0, width - 1);
        if (std::find(list->begin(), list->end(), f) == list->end()) list->push_back(f);
      }
    };
    const int kdim = c.kdim ? c.kdim : c.embed_dim, vdim = c.vdim ? c.vdim : c.embed_dim;
    draw(std::min({c.embed_dim, kdim, vdim}), &c.int8_inputs);
    draw(c.embed_dim, &c.int8_heads);
  }
  return c;
}

double reference_atol(const CaseConfig& cfg, const reference::Result& want) {
  return output_atol(cfg) + 2.0 * want.int8_step_effect;
}

void dequantize_int8_rows(std::vector<float>* x, int width) {
  for (std::size_t r = 0; r + width <= x->size(); r += width) {
    float amax = 0.0f;
    for (int d = 0; d < width; ++d) amax = std::max(amax, std::fabs((*x)[r + d]));
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f, scale = amax / 127.0f;
    for (int d = 0; d < width; ++d) {
      const float q = std::nearbyint(std::min(std::max((*x)[r + d] * inv, -127.0f), 127.0f));
      (*x)[r + d] = static_cast<float>(static_cast<double>(q) * scale);
    }
  }
}

float round_to(float x, ElementType type) {
  bool overflow = false;
  if (type == ElementType::f16) return kernels::f16_to_f32(kernels::f32_to_f16(x, &overflow));
  if (type == ElementType::bf16) return kernels::bf16_to_f32(kernels::f32_to_bf16(x, &overflow));
  return x;
}

static std::vector<std::uint16_t> to_16bit(const std::vector<float>& w, ElementType type) {
  std::vector<std::uint16_t> out(w.size());
  bool overflow = false;
  for (std::size_t i = 0; i < w.size(); ++i)
    out[i] = type == ElementType::f16 ? kernels::f32_to_f16(w[i], &overflow)
                                      : kernels::f32_to_bf16(w[i], &overflow);
  return out;
}

Case make_case(const CaseConfig& cfg, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Case c;
  c.cfg = cfg;
  const int E = cfg.embed_dim, H = cfg.num_heads, G = cfg.num_kv_heads ? cfg.num_kv_heads : H;
  const int Wkv = G * (E / H);
  const int kdim = cfg.kdim ? cfg.kdim : E, vdim = cfg.vdim ? cfg.vdim : E;
  // Weights scaled like PyTorch's default init, so logits stay O(1) and softmax is not flat.
  const float se = 1.0f / std::sqrt(static_cast<float>(E));
  c.wq = uniform(rng, static_cast<std::size_t>(E) * E, -2 * se, 2 * se);
  c.wk = uniform(rng, static_cast<std::size_t>(Wkv) * kdim, -2.0f / std::sqrt(float(kdim)),
                 2.0f / std::sqrt(float(kdim)));
  c.wv = uniform(rng, static_cast<std::size_t>(Wkv) * vdim, -1.0f / std::sqrt(float(vdim)),
                 1.0f / std::sqrt(float(vdim)));
  c.wo = uniform(rng, static_cast<std::size_t>(E) * E, -se, se);
  if (cfg.weight_source != ElementType::f32) {
    c.wq16 = to_16bit(c.wq, cfg.weight_source);
    c.wk16 = to_16bit(c.wk, cfg.weight_source);
    c.wv16 = to_16bit(c.wv, cfg.weight_source);
    c.wo16 = to_16bit(c.wo, cfg.weight_source);
  }
  if (cfg.q_bias) c.bq = uniform(rng, E, -0.5f, 0.5f);
  if (cfg.k_bias) c.bk = uniform(rng, Wkv, -0.5f, 0.5f);
  if (cfg.v_bias) c.bv = uniform(rng, Wkv, -0.5f, 0.5f);
  if (cfg.out_bias) c.bo = uniform(rng, E, -0.5f, 0.5f);
  if (cfg.bias_kv) {
    c.bias_k = uniform(rng, Wkv, -1.0f, 1.0f);
    c.bias_v = uniform(rng, Wkv, -1.0f, 1.0f);
  }
  const std::size_t B = cfg.batch, Lq = cfg.q_len, Lkv = cfg.kv_len;
  c.query = uniform(rng, B * Lq * E, -1.0f, 1.0f);
  if (cfg.cross) {
    c.key = uniform(rng, B * Lkv * kdim, -1.0f, 1.0f);
    c.value = uniform(rng, B * Lkv * vdim, -1.0f, 1.0f);
  }
  const std::size_t mask_n = (cfg.attn_mask_rank == 3 ? B * H : 1) * Lq * Lkv;
  std::bernoulli_distribution blocked(0.3), neg_inf(0.1);
  std::uniform_real_distribution<float> addend(-3.0f, 3.0f);
  const float inf = std::numeric_limits<float>::infinity();
  if (cfg.attn_mask == MaskType::additive) {
    c.attn_mask_f.resize(mask_n);
    for (float& m : c.attn_mask_f) m = neg_inf(rng) ? -inf : addend(rng);
  } else if (cfg.attn_mask == MaskType::boolean) {
    c.attn_mask_b.resize(mask_n);
    for (auto& m : c.attn_mask_b)
      m = blocked(rng) == (cfg.attn_mask_sense == BoolMaskSense::blocks_if_true);
  }
  if (cfg.key_padding_mask == MaskType::additive) {
    c.kpm_f.resize(B * Lkv);
    for (float& m : c.kpm_f) m = neg_inf(rng) ? -inf : addend(rng);
  } else if (cfg.key_padding_mask == MaskType::boolean) {
    c.kpm_b.resize(B * Lkv);
    for (auto& m : c.kpm_b) m = blocked(rng) == (cfg.kpm_sense == BoolMaskSense::blocks_if_true);
  }
  return c;
}

static const float* ptr(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

LayerSpec Case::spec() const {
  LayerSpec s;
  s.embed_dim = cfg.embed_dim;
  s.num_heads = cfg.num_heads;
  s.num_kv_heads = cfg.num_kv_heads;
  s.kdim = cfg.kdim;
  s.vdim = cfg.vdim;
  s.weight_layout = cfg.weight_layout;
  s.weights = {ptr(wq), ptr(wk), ptr(wv), ptr(wo),     ptr(bq),
               ptr(bk), ptr(bv), ptr(bo), ptr(bias_k), ptr(bias_v)};
  if (cfg.weight_source != ElementType::f32) {
    s.weights.q = wq16.data();
    s.weights.k = wk16.data();
    s.weights.v = wv16.data();
    s.weights.out = wo16.data();
    s.weights.element_type = cfg.weight_source;
  }
  s.weight_type = cfg.weight_type;
  s.int8_outliers = {cfg.int8_inputs.data(), static_cast<int>(cfg.int8_inputs.size()),
                     cfg.int8_heads.data(), static_cast<int>(cfg.int8_heads.size())};
  s.scale = cfg.scale;
  return s;
}

RunArgs Case::args(float* output, float* weights) const {
  RunArgs a;
  a.layout = cfg.layout;
  a.shape = {cfg.batch, cfg.q_len, cfg.kv_len};
  a.query = query.data();
  a.key = ptr(key);
  a.value = ptr(value);
  a.attn_mask.type = cfg.attn_mask;
  a.attn_mask.data = cfg.attn_mask == MaskType::additive
                         ? static_cast<const void*>(attn_mask_f.data())
                         : static_cast<const void*>(attn_mask_b.data());
  a.attn_mask.rank = cfg.attn_mask_rank;
  if (cfg.attn_mask_rank == 2) {
    a.attn_mask.dims[0] = cfg.q_len;
    a.attn_mask.dims[1] = cfg.kv_len;
  } else {
    a.attn_mask.dims[0] = cfg.batch * cfg.num_heads;
    a.attn_mask.dims[1] = cfg.q_len;
    a.attn_mask.dims[2] = cfg.kv_len;
  }
  a.attn_mask.sense = cfg.attn_mask_sense;
  a.key_padding_mask.type = cfg.key_padding_mask;
  a.key_padding_mask.data = cfg.key_padding_mask == MaskType::additive
                                ? static_cast<const void*>(kpm_f.data())
                                : static_cast<const void*>(kpm_b.data());
  a.key_padding_mask.dims[0] = cfg.batch;
  a.key_padding_mask.dims[1] = cfg.kv_len;
  a.key_padding_mask.sense = cfg.kpm_sense;
  a.causal = cfg.causal;
  a.output = output;
  a.attn_weights = cfg.weights;
  a.attn_weights_out = weights;
  return a;
}

std::size_t Case::output_size() const {
  return static_cast<std::size_t>(cfg.batch) * cfg.q_len * cfg.embed_dim;
}
std::size_t Case::weights_size() const {
  const std::size_t per = static_cast<std::size_t>(cfg.batch) * cfg.q_len * kv_total();
  return cfg.weights == AttnWeightsOutput::per_head   ? per * cfg.num_heads
         : cfg.weights == AttnWeightsOutput::averaged ? per
                                                      : 0;
}

Workspace::Workspace(std::size_t n)
    : bytes(n),
      ptr(static_cast<unsigned char*>(std::aligned_alloc(
              kWorkspaceAlignment,
              (n + kWorkspaceAlignment) / kWorkspaceAlignment * kWorkspaceAlignment)),
          std::free) {}

LibraryResult run_layer(const Layer& layer, const Case& c, const Executor& exec) {
  LibraryResult r;
  std::size_t bytes = 0;
  r.status =
      layer.workspace_size({c.cfg.batch, c.cfg.q_len, c.cfg.kv_len}, exec.num_threads(), &bytes);
  if (!r.status) return r;
  Workspace ws(bytes);
  r.output.assign(c.output_size(), std::numeric_limits<float>::quiet_NaN());
  r.weights.assign(c.weights_size(), std::numeric_limits<float>::quiet_NaN());
  r.status = layer.run(c.args(r.output.data(), r.weights.empty() ? nullptr : r.weights.data()),
                       ws.data(), ws.bytes, exec);
  return r;
}

std::vector<std::string> runnable_ports() {
  std::vector<std::string> out;
  for (int i = 0; i < port_count(); ++i)
    if (port_info(i).cpu_supported) out.emplace_back(port_info(i).name);
  return out;
}

LibraryResult run_library(const Case& c, int threads, const char* port) {
  std::unique_ptr<Layer> layer;
  LibraryResult r;
  LayerSpec spec = c.spec();
  spec.port = port;
  r.status = Layer::create(spec, &layer);
  if (!r.status) return r;
  Executor exec(threads);
  return run_layer(*layer, c, exec);
}

namespace {
template <class Want>
Comparison compare_n(const float* got, const Want* want, std::size_t n, double atol, double rtol) {
  Comparison c;
  for (std::size_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i];
    if (g == w)
      continue;  // equal values pass: -inf scores of masked keys, exact copies at tolerance 0
    const double err = std::abs(g - w) / (atol + rtol * std::abs(w));
    const double e = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
    if (e > c.worst) {
      c.worst = e;
      c.index = i;
      c.got = g;
      c.want = w;
    }
  }
  return c;
}
}  // namespace

Comparison compare(const std::vector<float>& got, const std::vector<double>& want, double atol,
                   double rtol) {
  if (got.size() != want.size()) {
    Comparison c;
    c.worst = std::numeric_limits<double>::infinity();
    return c;
  }
  return compare_n(got.data(), want.data(), got.size(), atol, rtol);
}

Comparison compare(const float* got, const float* want, std::size_t n, double atol, double rtol) {
  return compare_n(got, want, n, atol, rtol);
}

std::string Comparison::describe() const {
  std::ostringstream s;
  s << "worst scaled error " << worst << " at flat index " << index << ": got " << got << ", want "
    << want;
  return s.str();
}

double output_atol(const CaseConfig& cfg) {
  const int depth = std::max({cfg.embed_dim, cfg.kdim, cfg.vdim, cfg.kv_len + 1});
  return 2e-6 * std::sqrt(static_cast<double>(depth)) * 4.0;
}

int case_count(int default_count) {
  if (const char* env = std::getenv("EDGEATTN_TEST_CASES")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return default_count;
}

}  // namespace edgeattn::test
