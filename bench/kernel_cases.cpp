#include "kernel_cases.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "port_registry.hpp"

namespace edgeattn::bench {

namespace {

// The kernel's name in the library's grammar (port_registry.hpp).
std::string name_of(const KernelTable& t, registry::KernelOp op, int head_dim = 0,
                    const char* types = "f32") {
  char buf[96];
  registry::kernel_name(t, op, head_dim, buf, sizeof(buf), types);
  return buf;
}

std::string dims(int a, int b) { return std::to_string(a) + "x" + std::to_string(b); }

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = d(rng);
  return v;
}

constexpr int kGemmDepth = 768;  // the embedding width of S4/S6
constexpr int kAttendKeys = 512;
constexpr int kAttendHeadDim = 64;
constexpr int kExpCount = 4096;
constexpr int kDecodeKeys =
    256;  // one chunk of the split-KV decode step  // 16 KiB in, 16 KiB out: stays in L1

}  // namespace

bool KernelCase::cpu_supported() const {
  return table->cpu_supports() &&
         (int8_variant < 0 || table->int8_gemms[int8_variant].cpu_supports());
}

std::vector<KernelCase> kernel_cases(CaseSize size) {
  std::vector<KernelCase> cases;
  std::size_t count = 0;
  const KernelTable* const* tables = registry::tables(&count);
  // Packing is about memory: 64 MiB in and out is past any last-level cache of these machines.
  const int pack_dim = size == CaseSize::timing ? 4096 : 256;
  for (std::size_t i = 0; i < count; ++i) {
    const KernelTable& t = *tables[i];
    // A test port (emulated-avx512: plain loops standing in for another ISA) is not measured.
    if (std::strncmp(t.name, "emulated-", 9) == 0) continue;
    const int rows = t.gemm_row_block, cols = t.gemm_panel_block * t.gemm_nr;
    // f32 weights, then f16 and bf16 ones (fp32 arithmetic: f32_f16w, f32_bf16w).
    for (int w = 0; w < kernels::kWeightTypes; ++w) {
      static const char* const types[] = {"f32", "f32_f16w", "f32_bf16w"};
      cases.push_back({"ukernel/" + name_of(t, registry::KernelOp::gemm, 0, types[w]) +
                           "/task:" + dims(rows, cols) + "x" + std::to_string(kGemmDepth),
                       &t, KernelKind::gemm, rows, cols, kGemmDepth, 2.0 * rows * cols * kGemmDepth,
                       0.0, w});
    }
    // int8 weights: every variant of the port (those the CPU lacks are skipped when run).
    for (int v = 0; v < t.int8_gemm_count; ++v) {
      char name[96];
      registry::int8_kernel_name(t, t.int8_gemms[v], name, sizeof(name));
      KernelCase c{std::string("ukernel/") + name + "/task:" + dims(rows, cols) + "x" +
                       std::to_string(kGemmDepth),
                   &t,
                   KernelKind::gemm_int8,
                   rows,
                   cols,
                   kGemmDepth,
                   2.0 * rows * cols * kGemmDepth,
                   0.0,
                   3};
      c.int8_variant = v;
      cases.push_back(c);
    }
    cases.push_back(
        {"ukernel/" + name_of(t, registry::KernelOp::packb) + "/" + dims(pack_dim, pack_dim), &t,
         KernelKind::pack, 0, pack_dim, pack_dim, 0.0, 2.0 * sizeof(float) * pack_dim * pack_dim});
    cases.push_back(
        {"ukernel/" + name_of(t, registry::KernelOp::exp) + "/n:" + std::to_string(kExpCount), &t,
         KernelKind::exp, 0, kExpCount, 0, 0.0, 2.0 * sizeof(float) * kExpCount});
    cases.push_back({"ukernel/" + name_of(t, registry::KernelOp::attend, kAttendHeadDim) +
                         "/kv:" + std::to_string(kAttendKeys),
                     &t, KernelKind::attend, t.attn_tq, kAttendKeys, kAttendHeadDim,
                     4.0 * t.attn_tq * kAttendKeys * kAttendHeadDim, 0.0});
    // The decode step over fp32, f16 and int8 caches (bytes: Kᵀ and V as stored, with int8's
    // per-position scales).
    for (const ElementType kv : {ElementType::f32, ElementType::f16, ElementType::int8}) {
      const char* types = kv == ElementType::f16    ? "f32_f16kv"
                          : kv == ElementType::int8 ? "f32_qc8kv"
                                                    : "f32";
      const double scales = kv == ElementType::int8 ? 2.0 * sizeof(float) * kDecodeKeys : 0.0;
      cases.push_back(
          {"ukernel/" + name_of(t, registry::KernelOp::decode, kAttendHeadDim, types) +
               "/kv:" + std::to_string(kDecodeKeys),
           &t, KernelKind::decode, 1, kDecodeKeys, kAttendHeadDim, 0.0,
           2.0 * static_cast<double>(element_size(kv)) * kDecodeKeys * kAttendHeadDim + scales,
           static_cast<int>(kv)});
    }
  }
  return cases;
}

struct KernelRunner::Buffers {
  std::vector<float> a, b, c, bias, scratch;
  std::vector<std::uint16_t> kt16, v16;  // Kᵀ and V of a f16 cache
  std::vector<std::int8_t> kt8, v8, a8;  // Kᵀ and V of an int8 cache; int8 activations
  std::vector<float> k_scale, v_scale, a_scale, a_outliers;  // a_: the activations' scales
  std::vector<std::int32_t> features;                        // outlier features (int8)
  kernels::Int8Rows rows8;
  kernels::OutputMap out;
  kernels::HeadView head;
  // A projection task's bias and row-major m × n output (both GEMM kinds).
  void set_gemm_output(int m, int n) {
    bias = random_floats(static_cast<std::size_t>(n), 3);
    c.resize(static_cast<std::size_t>(m) * n);
    out.base = c.data();
    out.row_step = n;
    out.group_cols = n;
    out.bias = bias.data();
  }
  kernels::MaskView mask;
};

KernelRunner::KernelRunner(const KernelCase& c) : case_(c), b_(std::make_unique<Buffers>()) {
  const KernelTable& t = *c.table;
  Buffers& b = *b_;
  switch (c.kind) {
    case KernelKind::gemm:
      b.a = random_floats(static_cast<std::size_t>(c.m) * c.k, 1);
      b.b.resize(kernels::packed_b_elems(c.k, c.n, t.gemm_nr));
      t.pack_b(random_floats(static_cast<std::size_t>(c.n) * c.k, 2).data(), 0, true, c.k, c.n,
               b.b.data(), c.elem_type);
      b.set_gemm_output(c.m, c.n);
      break;
    case KernelKind::gemm_int8: {  // activations quantized as a projection's first pass does
      // With the most outlier features a layer may have (their cost included), spread out.
      const int K4 = (c.k + 3) / 4 * 4, blocks = kernels::int8_blocks(c.k);
      const int O = std::min(kernels::kInt8MaxOutliers, c.k);
      for (int o = 0; o < O; ++o) b.features.push_back(o * (c.k / O));
      const std::vector<float> a = random_floats(static_cast<std::size_t>(c.m) * c.k, 1);
      b.a8.resize(static_cast<std::size_t>(c.m) * K4);
      b.a_scale.resize(static_cast<std::size_t>(c.m) * blocks);
      b.a_outliers.resize(static_cast<std::size_t>(c.m) * O);
      t.quantize_rows(a.data(), c.k, c.m, c.k, b.features.data(), O, b.a8.data(), K4,
                      b.a_scale.data(), b.a_outliers.data());
      b.b.resize(kernels::int8_layout(c.k, c.n, t.gemm_nr, O).total / sizeof(float));
      kernels::pack_int8_any(t.gemm_nr,
                             random_floats(static_cast<std::size_t>(c.n) * c.k, 2).data(), 0, true,
                             c.k, c.n, b.features.data(), O, b.b.data());
      b.rows8 = {b.a8.data(), K4, b.a_scale.data(), blocks, b.a_outliers.data(), O};
      b.set_gemm_output(c.m, c.n);
      break;
    }
    case KernelKind::pack:
      b.a = random_floats(static_cast<std::size_t>(c.n) * c.k, 4);
      b.c.resize(kernels::packed_b_elems(c.k, c.n, t.gemm_nr));
      break;
    case KernelKind::exp:
      b.a = random_floats(static_cast<std::size_t>(c.n), 5);
      for (float& x : b.a) x *= 20.0f;  // softmax arguments span a wide range
      b.c.resize(static_cast<std::size_t>(c.n));
      break;
    case KernelKind::attend:
    case KernelKind::decode: {
      const int rows = c.m, kv = c.n, hd = c.k;
      // Kᵀ rows padded as the planner pads them (the micro-kernel reads NR columns at a time),
      // V with slack after the last row.
      const std::ptrdiff_t kv_ld = kernels::round_up_int(kv, 48) + 48;
      b.a = random_floats(static_cast<std::size_t>(rows) * hd, 6);
      b.b = random_floats(static_cast<std::size_t>(hd) * kv_ld, 7);
      b.bias = random_floats(static_cast<std::size_t>(kv + 1) * hd + 64, 8);
      b.c.resize(static_cast<std::size_t>(rows) * hd + 2);  // + 2: the decode state {max, sum, o}
      b.scratch.resize(std::max<std::size_t>(t.attend_scratch_floats(hd), kv + 2 + hd));
      for (float& x : b.a) x *= 0.125f;  // Q arrives pre-scaled by 1/sqrt(head_dim)
      b.head.q = b.a.data();
      b.head.kt = b.b.data();
      b.head.v = b.bias.data();
      if (c.elem_type == 1) {
        bool overflow = false;
        for (float x : b.b) b.kt16.push_back(kernels::f32_to_f16(x, &overflow));
        for (float x : b.bias) b.v16.push_back(kernels::f32_to_f16(x, &overflow));
        b.head.kt = b.kt16.data();
        b.head.v = b.v16.data();
      }
      if (c.elem_type == 3) {  // values in [-1, 1]: scale 1/127 for every position
        for (float x : b.b) b.kt8.push_back(kernels::quantize_value(x, 127.0f));
        for (float x : b.bias) b.v8.push_back(kernels::quantize_value(x, 127.0f));
        b.k_scale.assign(static_cast<std::size_t>(kv_ld), 1.0f / 127.0f);
        b.v_scale.assign(static_cast<std::size_t>(kv) + 1, 1.0f / 127.0f);
        b.head.kt = b.kt8.data();
        b.head.v = b.v8.data();
        b.head.k_scale = b.k_scale.data();
        b.head.v_scale = b.v_scale.data();
      }
      b.head.kv_ld = kv_ld;
      b.head.kv_total = kv;
      b.head.head_dim = hd;
      b.head.v_dim = hd;
      b.head.out = b.c.data();
      b.head.out_ld = hd;
      b.mask.kv_len = kv;
      break;
    }
  }
}

KernelRunner::~KernelRunner() = default;

void KernelRunner::run() {
  const KernelTable& t = *case_.table;
  Buffers& b = *b_;
  switch (case_.kind) {
    case KernelKind::gemm:
      t.gemm_block[case_.elem_type](b.a.data(), case_.k, 0, case_.m, case_.k, b.b.data(), 0,
                                    case_.n / t.gemm_nr, case_.n, b.out);
      break;
    case KernelKind::gemm_int8: {
      t.int8_gemms[case_.int8_variant].block(b.rows8, 0, case_.m, case_.k, b.b.data(), 0,
                                             case_.n / t.gemm_nr, case_.n, b.out);
      break;
    }
    case KernelKind::pack:
      t.pack_b(b.a.data(), 0, true, case_.k, case_.n, b.c.data(), 0);
      break;
    case KernelKind::exp:
      t.vexp(b.a.data(), b.c.data(), case_.n);
      break;
    case KernelKind::attend:
      t.attend_tile_for(case_.k, case_.k)(b.head, b.mask, 0, case_.m, b.scratch.data());
      break;
    case KernelKind::decode:  // scores in scratch, the partial state in c
      t.attend_row_partial[kernels::kv_kernel_index(case_.elem_type)](b.head, b.mask, 0, 0, case_.n,
                                                                      b.scratch.data(), b.c.data());
      break;
  }
}

const float* KernelRunner::result() const { return b_->c.data(); }

}  // namespace edgeattn::bench
