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

bool KernelCase::cpu_supported() const { return table->cpu_supports(); }

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
    // The decode step over fp32 and f16 caches (bytes: Kᵀ and V as stored).
    for (int kv = 0; kv < kernels::kKvTypes; ++kv)
      cases.push_back(
          {"ukernel/" +
               name_of(t, registry::KernelOp::decode, kAttendHeadDim, kv ? "f32_f16kv" : "f32") +
               "/kv:" + std::to_string(kDecodeKeys),
           &t, KernelKind::decode, 1, kDecodeKeys, kAttendHeadDim, 0.0,
           2.0 * static_cast<double>(element_size(static_cast<ElementType>(kv))) * kDecodeKeys *
               kAttendHeadDim,
           kv});
  }
  return cases;
}

struct KernelRunner::Buffers {
  std::vector<float> a, b, c, bias, scratch;
  std::vector<std::uint16_t> kt16, v16;  // Kᵀ and V of a f16 cache
  kernels::OutputMap out;
  kernels::HeadView head;
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
      b.bias = random_floats(static_cast<std::size_t>(c.n), 3);
      b.c.resize(static_cast<std::size_t>(c.m) * c.n);
      b.out.base = b.c.data();
      b.out.row_step = c.n;
      b.out.group_cols = c.n;
      b.out.bias = b.bias.data();
      break;
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
      t.attend_row_partial[case_.elem_type](b.head, b.mask, 0, 0, case_.n, b.scratch.data(),
                                            b.c.data());
      break;
  }
}

const float* KernelRunner::result() const { return b_->c.data(); }

}  // namespace edgeattn::bench
