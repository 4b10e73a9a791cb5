// The decode step against memory bandwidth. A step on the S6 shape (E 768, 12 heads, 1024
// cached positions) must read the four weight matrices (the new token's Q, K, V projections
// and the output projection: 4·E·E·4 bytes) and the cache (2·kv·E·4 bytes): 15.7 MB, which
// fits a 32 MB last-level cache. So the benchmark rotates over enough independent layers and
// caches that their working set exceeds 4× the last-level cache and each step's data comes
// from memory, as in a real model with many layers.
//
//   decode/edgeattn/S6_decode/threads:<n>  one step per iteration, bytes_per_second = the bytes
//                                          a step must read / time
//   decode/edgeattn/S6_decode/w:<type>[/kv:<type>]/threads:1   the same with f16, bf16 or int8
//                                          weights (and a f16 or int8 cache); the working set
//                                          and the bytes per step are counted from the types'
//                                          real sizes (int8: with its scales)
//   stream/read/threads:<n>                a STREAM-like read (a sum, in the widest vectors, of
//                                          4 independent streams per thread) over a working
//                                          set of the same size, one step's bytes per
//                                          iteration: the yardstick, in the same binary and run
#include "decode_bench.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <xsimd/xsimd.hpp>

#include "edgeattn/edgeattn.hpp"
#include "shapes.hpp"

namespace edgeattn::bench {
namespace {

const tools::StandardShape& s6() { return tools::kStandardShapes[5]; }

// int8 adds its scales: a scale and a column sum per output column of each weight matrix, a
// K and a V scale per cached position and head.
double step_bytes(ElementType weights = ElementType::f32, ElementType cache = ElementType::f32) {
  const double E = s6().embed_dim, kv = s6().kv_len, heads = s6().heads;
  const bool w8 = weights == ElementType::int8, c8 = cache == ElementType::int8;
  return 4.0 * E * E * static_cast<double>(element_size(weights)) + (w8 ? 4.0 * E * 8.0 : 0.0) +
         2.0 * kv * E * static_cast<double>(element_size(cache)) +
         (c8 ? 2.0 * kv * heads * 4.0 : 0.0);
}

// Instances whose working set exceeds 4× the largest cache the CPU reports (32 MB if none).
int instance_count(ElementType weights, ElementType cache) {
  long long llc = 0;
  for (const auto& c : benchmark::CPUInfo::Get().caches) llc = std::max<long long>(llc, c.size);
  if (llc <= 0) llc = 32ll << 20;
  return std::max(
      2, static_cast<int>(4.0 * static_cast<double>(llc) / step_bytes(weights, cache)) + 1);
}

struct DecodeInstance {
  std::unique_ptr<tools::StandardProblem> problem;
  std::unique_ptr<Layer> layer;
  std::unique_ptr<KvCache> cache;
};

struct DecodeSet {
  std::vector<DecodeInstance> instances;
  std::string error;
};

// Built once per weight type (seconds of setup) and shared by the thread counts.
DecodeSet make_decode_set(ElementType weights, ElementType cache) {
  DecodeSet s;
  const auto& shape = s6();
  const int E = shape.embed_dim, H = shape.heads, kv = shape.kv_len;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> k(static_cast<std::size_t>(kv) * E), v(k.size());
  for (int i = 0, n = instance_count(weights, cache); i < n; ++i) {
    DecodeInstance inst;
    inst.problem = std::make_unique<tools::StandardProblem>(shape);
    LayerSpec spec = inst.problem->spec();
    spec.weight_type = weights;
    Status st = Layer::create(spec, &inst.layer);
    KvCacheSpec cs;
    cs.kv_heads = H;
    cs.head_dim = E / H;
    cs.capacity = kv + 1;
    cs.element_type = cache;
    if (st) st = KvCache::create(cs, &inst.cache);
    for (float& x : k) x = d(rng);
    for (float& x : v) x = d(rng);
    if (st) st = inst.cache->append(k.data(), v.data(), kv, AttentionLayout::bsd);
    if (!st) {
      s.error = st.message();
      break;
    }
    s.instances.push_back(std::move(inst));
  }
  return s;
}

DecodeSet& decode_set(ElementType weights, ElementType cache) {
  static DecodeSet sets[4][4];  // by ElementType value: f32, f16, bf16, int8
  static bool made[4][4] = {};
  const int w = static_cast<int>(weights), c = static_cast<int>(cache);
  if (!made[w][c]) sets[w][c] = make_decode_set(weights, cache), made[w][c] = true;
  return sets[w][c];
}

void bm_decode(benchmark::State& state, int threads, ElementType weights, ElementType cache) {
  DecodeSet& set = decode_set(weights, cache);
  if (!set.error.empty()) {
    state.SkipWithError(set.error.c_str());
    return;
  }
  Executor exec(threads);
  const auto& shape = s6();
  std::vector<float> x(static_cast<std::size_t>(shape.embed_dim), 0.5f), y(x.size());
  RunArgs args;
  args.shape = {1, 1, 0};
  args.query = x.data();
  args.output = y.data();
  std::size_t bytes = 0;
  set.instances[0].layer->decode_workspace_size(*set.instances[0].cache, args.shape, threads,
                                                &bytes);
  std::unique_ptr<void, void (*)(void*)> ws(std::aligned_alloc(64, (bytes + 63) / 64 * 64),
                                            std::free);
  std::size_t next = 0;
  for (auto _ : state) {
    DecodeInstance& inst = set.instances[next];
    next = (next + 1) % set.instances.size();
    const Status st = inst.layer->decode(args, inst.cache.get(), ws.get(), bytes, exec);
    inst.cache->truncate(
        shape.kv_len);  // the next step on this instance sees kv_len positions again
    if (!st) {
      state.SkipWithError(st.message());
      break;
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(static_cast<double>(state.iterations()) *
                                                    step_bytes(weights, cache)));
  state.counters["instances"] = static_cast<double>(set.instances.size());
  state.SetLabel("port " + std::string(set.instances[0].layer->port()));
}

// The read-bandwidth yardstick: n floats read as kStreams independent sequential streams (one
// per quarter of the range, rounded down to 32 floats), each summed into its own vector
// accumulators, with the widest vectors the CPU has. Summing keeps the loads alive; the adds
// cost far less than the loads.
constexpr std::size_t kStreams = 4;

#if defined(__x86_64__)
__attribute__((target("avx512f"))) float read_avx512(const float* p, std::size_t n) {
  const std::size_t len = n / kStreams / 32 * 32;
  __m512 acc[2 * kStreams];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (std::size_t i = 0; i < len; i += 32)
    for (std::size_t s = 0; s < kStreams; ++s) {
      acc[2 * s] = _mm512_add_ps(acc[2 * s], _mm512_loadu_ps(p + s * len + i));
      acc[2 * s + 1] = _mm512_add_ps(acc[2 * s + 1], _mm512_loadu_ps(p + s * len + i + 16));
    }
  for (std::size_t s = 1; s < 2 * kStreams; ++s) acc[0] = _mm512_add_ps(acc[0], acc[s]);
  // Stored and summed: GCC 12's _mm512_reduce_add_ps warns of an uninitialised variable.
  float out[16];
  _mm512_storeu_ps(out, acc[0]);
  float total = 0.0f;
  for (float x : out) total += x;
  return total;
}

__attribute__((target("avx2"))) float read_avx2(const float* p, std::size_t n) {
  const std::size_t len = n / kStreams / 32 * 32;
  __m256 acc[2 * kStreams];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (std::size_t i = 0; i < len; i += 16)
    for (std::size_t s = 0; s < kStreams; ++s) {
      acc[2 * s] = _mm256_add_ps(acc[2 * s], _mm256_loadu_ps(p + s * len + i));
      acc[2 * s + 1] = _mm256_add_ps(acc[2 * s + 1], _mm256_loadu_ps(p + s * len + i + 8));
    }
  for (std::size_t s = 1; s < 2 * kStreams; ++s) acc[0] = _mm256_add_ps(acc[0], acc[s]);
  float out[8];
  _mm256_storeu_ps(out, acc[0]);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

// 128-bit vectors (SSE2 on x86-64, NEON on ARM) through xsimd's default architecture.
float read_128(const float* p, std::size_t n) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  const std::size_t len = n / kStreams / 32 * 32;  // as every variant: 32 floats divide by 2 * W
  batch acc[2 * kStreams];
  for (auto& a : acc) a = batch(0.0f);
  for (std::size_t i = 0; i < len; i += 2 * W)
    for (std::size_t s = 0; s < kStreams; ++s) {
      acc[2 * s] += batch::load_unaligned(p + s * len + i);
      acc[2 * s + 1] += batch::load_unaligned(p + s * len + i + W);
    }
  for (std::size_t s = 1; s < 2 * kStreams; ++s) acc[0] += acc[s];
  return xsimd::hadd(acc[0]);
}

struct StreamReader {
  const char* name;
  float (*read)(const float*, std::size_t);
};

StreamReader widest_reader() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return {"avx512, 4 streams", read_avx512};
  if (__builtin_cpu_supports("avx2")) return {"avx2, 4 streams", read_avx2};
#endif
  return {"128-bit, 4 streams", read_128};
}

void bm_stream_read(benchmark::State& state) {
  // One buffer of the decode set's size, shared by the benchmark's threads; each thread reads
  // its share of one step's bytes per iteration, rotating through the buffer.
  static const std::size_t chunk = static_cast<std::size_t>(step_bytes() / sizeof(float));
  static std::vector<float> buffer = [] {
    std::vector<float> b(
        chunk * static_cast<std::size_t>(instance_count(ElementType::f32, ElementType::f32)));
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i & 1023) * 1e-3f;
    return b;
  }();
  static const StreamReader reader = widest_reader();
  const std::size_t chunks = buffer.size() / chunk, share = chunk / state.threads();
  // The bytes read_* really read: each stream's length rounded down to its vector step.
  const std::size_t read_floats = share / kStreams / 32 * 32 * kStreams;
  std::size_t next = 0;
  for (auto _ : state) {
    const float* p = buffer.data() + next * chunk + state.thread_index() * share;
    next = (next + 1) % chunks;
    benchmark::DoNotOptimize(reader.read(p, share));
  }
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * read_floats * sizeof(float)));
  state.SetLabel(reader.name);
}

}  // namespace

void register_decode_benchmarks(int max_threads) {
  for (int threads = 1; threads <= max_threads; ++threads) {
    const std::string suffix = std::string(s6().name) + "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(("decode/edgeattn/" + suffix).c_str(), bm_decode, threads,
                                 ElementType::f32, ElementType::f32)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  const std::pair<ElementType, ElementType> types[] = {{ElementType::f16, ElementType::f32},
                                                       {ElementType::bf16, ElementType::f32},
                                                       {ElementType::f16, ElementType::f16},
                                                       {ElementType::int8, ElementType::f32},
                                                       {ElementType::int8, ElementType::int8}};
  for (const auto& [w, c] : types) {
    const std::string kv = c == ElementType::f32 ? "" : "/kv:" + std::string(element_type_name(c));
    benchmark::RegisterBenchmark(("decode/edgeattn/" + std::string(s6().name) +
                                  "/w:" + element_type_name(w) + kv + "/threads:1")
                                     .c_str(),
                                 bm_decode, 1, w, c)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("stream/read", bm_stream_read)
      ->ThreadRange(1, max_threads)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace edgeattn::bench
