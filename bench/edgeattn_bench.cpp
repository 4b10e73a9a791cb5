// edgeattn_bench: the standard shapes S1–S6 through edgeattn and through a composed OpenBLAS
// baseline, side by side in one process, plus the machine's peak FMA rate. Compare ratios of
// one run (these machines are shared and noisy), not absolute times across runs.
//
//   mha/edgeattn/<shape>/threads:<n>   edgeattn, n executor threads
//   mha/edgeattn/<shape>/w:<type>/threads:1   the same with f16, bf16 or int8 weights (checked
//                                      against the reference on the same rounded or quantized
//                                      weights and activations)
//   mha/openblas/<shape>/threads:<n>   the OpenBLAS composition of openblas_mha.hpp (fused
//                                      Q/K/V sgemm, per-head sgemm, vectorised softmax, heads
//                                      over the threads); counter softmax_ms
//   peak/fma<bits>/real_time/threads:<n>  independent FMA chains of one vector width (512 and
//                                      256 on x86-64, 128 elsewhere), GFLOP/s of n threads in
//                                      real time; the widest is "the peak"
//   proj/{edgeattn,xnnpack}/<shape>/{qkv,out}/threads:1  the shape's two projection GEMMs
//                                      through edgeattn's driver and XNNPACK's fully-connected
//                                      operator (projection_bench.hpp)
//   decode/edgeattn/S6_decode/...      one decode step (KV cache), bytes/s; stream/read/...:
//                                      the machine's read bandwidth (see decode_bench.cpp)
//   ukernel/<kernel>__<port>/<size>    one kernel of one port (see kernel_cases.hpp): GFLOPS
//                                      or bytes_per_second; skipped where the CPU lacks the ISA
// Every end-to-end benchmark has a GFLOPS counter, and its output is checked once against the
// double-precision reference (tests/reference) before it is timed. Planning and weight packing
// happen outside the timed loop. EDGEATTN_PORT selects the port as everywhere; OpenBLAS's
// OPENBLAS_CORETYPE, read when the process starts, is recorded in the context
// (tools/scripts/bench_openblas_coretypes.py compares the core types).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decode_bench.hpp"
#include "edgeattn/edgeattn.hpp"
#include "kernel_cases.hpp"
#include "openblas_mha.hpp"
#include "peak_fma.hpp"
#include "projection_bench.hpp"
#include "reference/reference.hpp"
#include "shapes.hpp"

namespace {

using edgeattn::tools::StandardShape;

void set_flops(benchmark::State& state, double flops) {
  state.counters["GFLOPS"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The largest error of `output` against the double-precision reference of the shape's problem
// (with the weights as a layer of `weights` holds them; int8 quantizes as the layer does),
// relative to the reference's largest magnitude (computed once per shape and weight type).
// `allowance`: int8's two steps of the output projection's activations (see the tests'
// reference_atol), relative to the same magnitude; 0 for the other types.
double reference_error(const StandardShape& shape, edgeattn::ElementType weights,
                       const std::vector<float>& output, double* allowance) {
  static std::mutex mutex;
  static std::map<std::pair<const StandardShape*, edgeattn::ElementType>,
                  edgeattn::reference::Result>
      cache;
  std::lock_guard<std::mutex> lock(mutex);
  edgeattn::reference::Result& want = cache[{&shape, weights}];
  if (want.output.empty()) {
    edgeattn::tools::StandardProblem p(shape);
    edgeattn::LayerSpec spec = p.spec();
    spec.weight_type = weights;
    want = edgeattn::reference::multi_head_attention(spec, p.args());
  }
  double err = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < want.output.size(); ++i) {
    err = std::max(err, std::abs(static_cast<double>(output[i]) - want.output[i]));
    scale = std::max(scale, std::abs(want.output[i]));
  }
  *allowance = 2.0 * want.int8_step_effect / std::max(scale, 1e-30);
  return err / std::max(scale, 1e-30);
}

// fp32 GEMMs over at most 1500 products per element stay near 1e-6 of the output's magnitude;
// a wrong kernel (a core type the CPU mis-runs, say) is off by far more.
constexpr double kMaxReferenceError = 1e-4;

bool matches_reference(benchmark::State& state, const StandardShape& shape,
                       const std::vector<float>& output,
                       edgeattn::ElementType weights = edgeattn::ElementType::f32) {
  double allowance = 0.0;
  const double err = reference_error(shape, weights, output, &allowance);
  if (err <= kMaxReferenceError + allowance) return true;
  state.SkipWithError(("output differs from the double-precision reference by " +
                       std::to_string(err) + " of its magnitude (more than " +
                       std::to_string(kMaxReferenceError + allowance) + ")")
                          .c_str());
  return false;
}

void bm_edgeattn(benchmark::State& state, const StandardShape* shape, int threads,
                 edgeattn::ElementType weights) {
  edgeattn::tools::StandardProblem p(*shape);
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::LayerSpec spec = p.spec();
  spec.weight_type = weights;
  edgeattn::Status st = edgeattn::Layer::create(spec, &layer);
  if (!st) {
    state.SkipWithError(st.message());
    return;
  }
  edgeattn::Executor exec(threads);
  const edgeattn::RunArgs args = p.args();
  std::size_t bytes = 0;
  layer->workspace_size(args.shape, threads, &bytes);
  std::unique_ptr<void, void (*)(void*)> ws(std::aligned_alloc(64, (bytes + 63) / 64 * 64),
                                            std::free);
  st = layer->run(args, ws.get(), bytes, exec);  // warm-up outside the timed loop
  if (!st) {
    state.SkipWithError(st.message());
    return;
  }
  if (!matches_reference(state, *shape, p.output, weights)) return;
  for (auto _ : state) {
    layer->run(args, ws.get(), bytes, exec);
    benchmark::DoNotOptimize(p.output.data());
  }
  set_flops(state, edgeattn::tools::flops(*shape));
  state.SetLabel(std::string("port ") + layer->port() + ", workspace " + std::to_string(bytes) +
                 " B, weights " + std::to_string(layer->weight_bytes()) + " B");
}

// The composition a careful library user would write with OpenBLAS (openblas_mha.hpp).
void bm_openblas(benchmark::State& state, const StandardShape* shape, int threads) {
  edgeattn::tools::StandardProblem p(*shape);
  edgeattn::bench::OpenblasMha mha(p, threads);
  mha.forward(p);  // warm-up: OpenBLAS and oneTBB start their threads
  if (!matches_reference(state, *shape, p.output)) return;
  const double softmax_before = mha.softmax_seconds();
  for (auto _ : state) {
    mha.forward(p);
    benchmark::DoNotOptimize(p.output.data());
  }
  set_flops(state, edgeattn::tools::flops(*shape));
  state.counters["softmax_ms"] = benchmark::Counter((mha.softmax_seconds() - softmax_before) * 1e3 /
                                                    static_cast<double>(state.iterations()));
  state.SetLabel(std::string("softmax ") + mha.softmax_name() + ", OpenBLAS core " +
                 openblas_get_corename());
  // OpenBLAS's idle workers spin for a while after a call; park them so they do not steal a
  // core from the next benchmark.
  openblas_set_num_threads(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

void bm_peak_fma(benchmark::State& state, const edgeattn::bench::PeakFma* peak) {
  const long iterations = 1 << 20;
  for (auto _ : state) benchmark::DoNotOptimize(peak->chains(iterations));
  // Google Benchmark sums the threads' counters: the machine's rate for that many threads.
  state.counters["GFLOPS"] = benchmark::Counter(
      static_cast<double>(iterations) * peak->flops_per_iteration * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kAvgThreads);
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
  if (c->bytes > 0)
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c->bytes));
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
  const int max_threads =
      static_cast<int>(std::max(1u, std::min(2u, std::thread::hardware_concurrency())));
  static const std::vector<edgeattn::bench::PeakFma> peaks = edgeattn::bench::peak_fma_variants();
  for (const auto& peak : peaks)
    benchmark::RegisterBenchmark((std::string("peak/") + peak.name).c_str(), bm_peak_fma, &peak)
        ->ThreadRange(1, max_threads)
        ->UseRealTime();
  for (int threads = 1; threads <= max_threads; ++threads) {
    for (const StandardShape& s : edgeattn::tools::kStandardShapes) {
      const std::string suffix = std::string(s.name) + "/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(("mha/edgeattn/" + suffix).c_str(), bm_edgeattn, &s, threads,
                                   edgeattn::ElementType::f32)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      for (const auto w :
           {edgeattn::ElementType::f16, edgeattn::ElementType::bf16, edgeattn::ElementType::int8})
        if (threads == 1)
          benchmark::RegisterBenchmark(("mha/edgeattn/" + std::string(s.name) +
                                        "/w:" + edgeattn::element_type_name(w) + "/" + "threads:1")
                                           .c_str(),
                                       bm_edgeattn, &s, threads, w)
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark(("mha/openblas/" + suffix).c_str(), bm_openblas, &s, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  edgeattn::bench::register_decode_benchmarks(max_threads);
  edgeattn::bench::register_projection_benchmarks();
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
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("openblas_coretype", coretype ? coretype : "unset");
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("openblas_config", openblas_get_config());
  benchmark::AddCustomContext("xnnpack", edgeattn::bench::xnnpack_status());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
