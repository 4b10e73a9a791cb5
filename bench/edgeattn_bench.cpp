// edgeattn_bench: the standard shapes S1–S6 through edgeattn and through a composed OpenBLAS
// baseline, side by side in one process, plus the machine's peak FMA rate. Compare ratios of
// one run (these machines are shared and noisy), not absolute times across runs.
//
//   mha/edgeattn/<shape>/threads:<n>   edgeattn, n executor threads
//   mha/openblas/<shape>/threads:<n>   cblas_sgemm projections, per-head sgemm for scores and
//                                      P·V, a plain std::exp row softmax between them
//   peak/fma/threads:<n>               independent FMA chains, GFLOP/s of n threads
//   decode/edgeattn/S6_decode/...      one decode step (KV cache), bytes/s; stream/read/...:
//                                      the machine's read bandwidth (see decode_bench.cpp)
//   ukernel/<kernel>__<port>/<size>    one kernel of one port (see kernel_cases.hpp): GFLOPS
//                                      or bytes_per_second; skipped where the CPU lacks the ISA
// Every end-to-end benchmark has a GFLOPS counter. Planning and weight packing happen outside the timed
// loop. EDGEATTN_PORT selects the port as everywhere.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "decode_bench.hpp"
#include "kernel_cases.hpp"
#include "peak_fma.hpp"
#include "shapes.hpp"

namespace {

using edgeattn::tools::StandardShape;

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void bm_edgeattn(benchmark::State& state, const StandardShape* shape, int threads) {
  edgeattn::tools::StandardProblem p(*shape);
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = edgeattn::Layer::create(p.spec(), &layer);
  if (!st) {
    state.SkipWithError(st.message());
    return;
  }
  edgeattn::Executor exec(threads);
  const edgeattn::RunArgs args = p.args();
  std::size_t bytes = 0;
  layer->workspace_size(args.shape, threads, &bytes);
  std::unique_ptr<void, void (*)(void*)> ws(std::aligned_alloc(64, (bytes + 63) / 64 * 64), std::free);
  st = layer->run(args, ws.get(), bytes, exec);  // warm-up outside the timed loop
  if (!st) {
    state.SkipWithError(st.message());
    return;
  }
  for (auto _ : state) {
    layer->run(args, ws.get(), bytes, exec);
    benchmark::DoNotOptimize(p.output.data());
  }
  set_flops(state, edgeattn::tools::flops(*shape));
  state.SetLabel(std::string("port ") + layer->port() + ", workspace " + std::to_string(bytes) + " B");
}

// The composition a careful library user would write with BLAS.
void bm_openblas(benchmark::State& state, const StandardShape* shape, int threads) {
  edgeattn::tools::StandardProblem p(*shape);
  const int E = shape->embed_dim, H = shape->heads, hd = E / H, Lq = shape->q_len, Lkv = shape->kv_len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> q(static_cast<std::size_t>(Lq) * E), k(static_cast<std::size_t>(Lkv) * E),
      v(static_cast<std::size_t>(Lkv) * E), concat(static_cast<std::size_t>(Lq) * E),
      scores(static_cast<std::size_t>(Lq) * Lkv);
  openblas_set_num_threads(threads);
  auto linear = [&](const float* in, int rows, const std::vector<float>& w, const std::vector<float>& b, float* out) {
    for (int r = 0; r < rows; ++r) std::copy(b.begin(), b.end(), out + static_cast<std::size_t>(r) * E);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, E, E, 1.0f, in, E, w.data(), E, 1.0f, out, E);
  };
  auto forward = [&] {
    for (int b = 0; b < shape->batch; ++b) {
      const float* xq = p.query.data() + static_cast<std::size_t>(b) * Lq * E;
      const float* xkv = p.self() ? xq : p.kv.data() + static_cast<std::size_t>(b) * Lkv * E;
      linear(xq, Lq, p.wq, p.bq, q.data());
      linear(xkv, Lkv, p.wk, p.bk, k.data());
      linear(xkv, Lkv, p.wv, p.bv, v.data());
      for (int h = 0; h < H; ++h) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Lq, Lkv, hd, scale, q.data() + h * hd, E,
                    k.data() + h * hd, E, 0.0f, scores.data(), Lkv);
        for (int i = 0; i < Lq; ++i) {
          float* row = scores.data() + static_cast<std::size_t>(i) * Lkv;
          float mx = row[0];
          for (int j = 1; j < Lkv; ++j) mx = std::max(mx, row[j]);
          float sum = 0.0f;
          for (int j = 0; j < Lkv; ++j) sum += (row[j] = std::exp(row[j] - mx));
          const float inv = 1.0f / sum;
          for (int j = 0; j < Lkv; ++j) row[j] *= inv;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Lq, hd, Lkv, 1.0f, scores.data(), Lkv,
                    v.data() + h * hd, E, 0.0f, concat.data() + h * hd, E);
      }
      linear(concat.data(), Lq, p.wo, p.bo, p.output.data() + static_cast<std::size_t>(b) * Lq * E);
    }
  };
  forward();  // warm-up: OpenBLAS starts its threads
  for (auto _ : state) {
    forward();
    benchmark::DoNotOptimize(p.output.data());
  }
  set_flops(state, edgeattn::tools::flops(*shape));
  // OpenBLAS's idle workers spin for a while after a call; park them so they do not steal a
  // core from the next benchmark.
  openblas_set_num_threads(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

void bm_peak_fma(benchmark::State& state) {
  const long iterations = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(edgeattn::bench::fma_chains(iterations));
  // Google Benchmark sums the threads' counters: the machine's rate for that many threads.
  state.counters["GFLOPS"] = benchmark::Counter(iterations * edgeattn::bench::fma_flops_per_iteration() * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void bm_kernel(benchmark::State& state, const edgeattn::bench::KernelCase* c) {
  if (!c->cpu_supported()) {
    state.SkipWithError("skipped: this CPU lacks the instruction set of the port");
    return;
  }
  edgeattn::bench::KernelRunner runner(*c);
  runner.run();  // warm-up: first touch of the buffers
  for (auto _ : state) {
    runner.run();
    benchmark::DoNotOptimize(runner.result());
    benchmark::ClobberMemory();
  }
  if (c->flops > 0) set_flops(state, c->flops);
  if (c->bytes > 0) state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c->bytes));
}

// The CPU's model name, so that a results file says which machine produced it.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    if (key == "model name" || key == "Model" || key == "Hardware") return line.substr(colon + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const int max_threads = static_cast<int>(std::max(1u, std::min(2u, std::thread::hardware_concurrency())));
  benchmark::RegisterBenchmark("peak/fma", bm_peak_fma)->ThreadRange(1, max_threads);
  for (int threads = 1; threads <= max_threads; ++threads) {
    for (const StandardShape& s : edgeattn::tools::kStandardShapes) {
      const std::string suffix = std::string(s.name) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("mha/edgeattn/" + suffix).c_str(), bm_edgeattn, &s, threads)
          ->UseRealTime()->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("mha/openblas/" + suffix).c_str(), bm_openblas, &s, threads)
          ->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  }
  edgeattn::bench::register_decode_benchmarks(max_threads);
  static const std::vector<edgeattn::bench::KernelCase> kernel_cases =
      edgeattn::bench::kernel_cases(edgeattn::bench::CaseSize::timing);
  for (const auto& c : kernel_cases)
    benchmark::RegisterBenchmark(c.name.c_str(), bm_kernel, &c)->Unit(benchmark::kMicrosecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("edgeattn_version", edgeattn::version());
  edgeattn::PortInfo port{};
  edgeattn::select_port(nullptr, &port);
  benchmark::AddCustomContext("edgeattn_port", port.name);
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("compiler", __VERSION__);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
