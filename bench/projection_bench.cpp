#include "projection_bench.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "aligned_buffer.hpp"
#include "edgeattn/edgeattn.hpp"
#include "engine/projection.hpp"
#include "port_registry.hpp"
#include "shapes.hpp"

#if defined(EDGEATTN_BENCH_XNNPACK)
#include <xnnpack.h>
#endif

namespace edgeattn::bench {
namespace {

using tools::StandardShape;

// One projection GEMM of a shape: Y[rows, N] = X[rows, K] · Wᵀ + b, W stored [N][K] (PyTorch's
// [out, in]; for qkv the Q, K and V weights one after the other, as a fused in_proj_weight).
struct ProjectionProblem {
  int rows = 0, K = 0, N = 0, segments = 1;
  std::vector<float> x, w, bias, y;
  std::vector<double> want;  // the double-precision result

  ProjectionProblem(const StandardShape& s, bool qkv) {
    // Self-attention: Q, K and V of the same rows in one GEMM. Cross-attention (S6's one query
    // against the cache) projects only the new token; the same fused GEMM over it.
    rows = s.batch * s.q_len;
    K = s.embed_dim;
    segments = qkv ? 3 : 1;
    N = segments * s.embed_dim;
    tools::StandardProblem p(s);
    x = p.query;
    for (const auto* m : qkv ? std::vector<const std::vector<float>*>{&p.wq, &p.wk, &p.wv}
                             : std::vector<const std::vector<float>*>{&p.wo})
      w.insert(w.end(), m->begin(), m->end());
    for (const auto* b : qkv ? std::vector<const std::vector<float>*>{&p.bq, &p.bk, &p.bv}
                             : std::vector<const std::vector<float>*>{&p.bo})
      bias.insert(bias.end(), b->begin(), b->end());
    y.assign(static_cast<std::size_t>(rows) * N, 0.0f);
  }
  double flops() const { return 2.0 * rows * K * N; }

  // The largest error of y against the double-precision product, relative to its largest
  // magnitude; computed once.
  double error() {
    if (want.empty()) {
      want.resize(y.size());
      for (int r = 0; r < rows; ++r)
        for (int n = 0; n < N; ++n) {
          double acc = bias[n];
          for (int k = 0; k < K; ++k)
            acc += static_cast<double>(x[static_cast<std::size_t>(r) * K + k]) *
                   w[static_cast<std::size_t>(n) * K + k];
          want[static_cast<std::size_t>(r) * N + n] = acc;
        }
    }
    double err = 0.0, scale = 1e-30;
    for (std::size_t i = 0; i < y.size(); ++i) {
      err = std::max(err, std::abs(y[i] - want[i]));
      scale = std::max(scale, std::abs(want[i]));
    }
    return err / scale;
  }
};

bool check(benchmark::State& state, ProjectionProblem& p) {
  const double err = p.error();
  if (err <= 1e-5) return true;
  state.SkipWithError(("result differs from the double-precision product by " +
                       std::to_string(err) + " of its magnitude")
                          .c_str());
  return false;
}

void set_counters(benchmark::State& state, const ProjectionProblem& p) {
  state.counters["GFLOPS"] =
      benchmark::Counter(p.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Through edgeattn's projection driver, as Layer::run schedules it (one thread): the weights
// packed by the port's pack_b, each matrix a segment of one Projection, row-major output.
void bm_edgeattn(benchmark::State& state, const StandardShape* shape, bool qkv) {
  ProjectionProblem p(*shape, qkv);
  char error[256] = {};
  const KernelTable* k = registry::select(nullptr, error, sizeof error);
  if (!k) {
    state.SkipWithError(error);
    return;
  }
  const int E = shape->embed_dim;
  const std::size_t panel_floats = kernels::packed_b_elems(p.K, E, k->gemm_nr);
  const AlignedFloats packed = allocate_floats(panel_floats * p.segments);
  if (!packed) {
    state.SkipWithError("out of memory");
    return;
  }
  float* panels = packed.get();
  engine::Projection proj;
  proj.plan(*k, ElementType::f32, 1, p.rows, p.K);
  proj.a = p.x.data();
  proj.in = {0, p.K};
  for (int s = 0; s < p.segments; ++s) {
    float* dst = panels + s * panel_floats;
    k->pack_b(p.w.data() + static_cast<std::size_t>(s) * E * p.K, 0, /*transposed=*/true, p.K, E,
              dst, 0);
    proj.add_segment(dst, E);
  }
  proj.plan_grid();
  for (int s = 0; s < p.segments; ++s)
    proj.bind(s, kernels::OutputMap{p.y.data() + s * E, p.N, 1, E, 0, p.bias.data() + s * E, 1.0f},
              0);
  const Executor exec(1);
  const engine::Projection* list[1] = {&proj};
  engine::run_projections(list, 1, exec);  // warm-up, and the result checked
  if (!check(state, p)) return;
  for (auto _ : state) {
    engine::run_projections(list, 1, exec);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, p);
  state.SetLabel(std::string("port ") + k->name);
}

#if defined(EDGEATTN_BENCH_XNNPACK)
bool xnnpack_ready() {
  static const bool ok = xnn_initialize(nullptr) == xnn_status_success;
  return ok;
}

// XNNPACK's fully-connected operator, the one TFLite/LiteRT delegates a dense layer to: created
// once with the [N][K] weights and the bias (packed then), set up once for the rows, run with
// no thread pool (the calling thread only).
void bm_xnnpack(benchmark::State& state, const StandardShape* shape, bool qkv) {
  ProjectionProblem p(*shape, qkv);
  if (!xnnpack_ready()) {
    state.SkipWithError("xnn_initialize failed (does this CPU lack what XNNPACK requires?)");
    return;
  }
  xnn_operator_t op = nullptr;
  const float inf = std::numeric_limits<float>::infinity();
  if (xnn_create_fully_connected_nc_f32(p.K, p.N, p.K, p.N, p.w.data(), p.bias.data(), -inf, inf, 0,
                                        &op) != xnn_status_success) {
    state.SkipWithError("xnn_create_fully_connected_nc_f32 failed");
    return;
  }
  std::unique_ptr<xnn_operator, decltype(&xnn_delete_operator)> owner(op, xnn_delete_operator);
  if (xnn_setup_fully_connected_nc_f32(op, p.rows, p.x.data(), p.y.data(), nullptr) !=
          xnn_status_success ||
      xnn_run_operator(op, nullptr) != xnn_status_success) {
    state.SkipWithError("xnn_setup/run of the fully-connected operator failed");
    return;
  }
  if (!check(state, p)) return;
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, p);
}
#endif

}  // namespace

void register_projection_benchmarks() {
  for (const StandardShape& s : tools::kStandardShapes)
    for (const bool qkv : {true, false}) {
      const std::string suffix = std::string(s.name) + (qkv ? "/qkv" : "/out") + "/threads:1";
      benchmark::RegisterBenchmark(("proj/edgeattn/" + suffix).c_str(), bm_edgeattn, &s, qkv)
          ->Unit(benchmark::kMicrosecond);
#if defined(EDGEATTN_BENCH_XNNPACK)
      benchmark::RegisterBenchmark(("proj/xnnpack/" + suffix).c_str(), bm_xnnpack, &s, qkv)
          ->Unit(benchmark::kMicrosecond);
#endif
    }
}

const char* xnnpack_status() {
#if defined(EDGEATTN_BENCH_XNNPACK)
  return "built (libxnnpack-dev)";
#else
  return "not built: CMake found no XNNPACK (libxnnpack-dev, libpthreadpool-dev)";
#endif
}

}  // namespace edgeattn::bench
