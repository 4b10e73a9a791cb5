// edgeattn_icount: runs one kernel case (kernel_cases.hpp) or one end-to-end shape a fixed
// number of times inside edgeattn_icount_measured(), the only function whose instructions
// tools/scripts/icount_gate.py counts (valgrind --tool=callgrind --collect-atstart=no
// --toggle-collect=edgeattn_icount_measured). Setup (buffers, packing, planning, a warm-up call)
// happens outside it, so the count is that of the kernel alone and does not depend on timing.
//
//   edgeattn_icount --list            the cases this CPU can run, one per line
//   edgeattn_icount --context         compiler and ports, for the counts file
//   edgeattn_icount <case> [repeats]  runs the case `repeats` times (default 3)
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgeattn/edgeattn.hpp"
#include "kernel_cases.hpp"
#include "shapes.hpp"

// Not inlined and not static, so callgrind sees it by this name.
extern "C" __attribute__((noinline)) void edgeattn_icount_measured(
    const std::function<void()>& call, int repeats) {
  for (int i = 0; i < repeats; ++i) call();
}

namespace {

// End-to-end cases through the public API on each port, one executor thread (a fixed
// schedule: the count must not depend on how threads interleave), each with a plan made
// outside the count: two standard shapes through the layer (S1's 64 keys fit one key tile,
// S3's 128 fill one on x86), the attention core over 384 keys (several key tiles on every
// port), and one decode step of S6's layer over a 1024-position cache (the split-KV path).
const char* const kEndToEnd[] = {"mha/edgeattn/S1_tiny_edge", "mha/edgeattn/S3_minilm",
                                 "attention/edgeattn/B1_H12_q128_kv384_hd64",
                                 "decode/edgeattn/S6_decode"};

std::string end_to_end_name(const char* what, const char* port) {
  return std::string(what) + "/threads:1/port:" + port;
}

using AlignedBuffer = std::unique_ptr<void, void (*)(void*)>;
AlignedBuffer aligned_buffer(std::size_t bytes) {
  return AlignedBuffer(std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64), std::free);
}

int usage(const char* msg) {
  std::fprintf(stderr, "edgeattn_icount: %s\n", msg);
  return 2;
}

const edgeattn::tools::StandardShape& standard_shape(const char* name) {
  for (const auto& shape : edgeattn::tools::kStandardShapes)
    if (std::strcmp(shape.name, name) == 0) return shape;
  std::abort();
}

// The layer of a standard problem on `port`.
edgeattn::Status create_layer(const edgeattn::tools::StandardProblem& p, const char* port,
                              std::unique_ptr<edgeattn::Layer>* layer) {
  edgeattn::LayerSpec spec = p.spec();
  spec.port = port;
  return edgeattn::Layer::create(spec, layer);
}

int run_layer(const char* shape_name, const char* port, int repeats) {
  const edgeattn::tools::StandardShape& shape = standard_shape(shape_name);
  edgeattn::tools::StandardProblem p(shape);
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = create_layer(p, port, &layer);
  if (!st) return usage(st.message());
  edgeattn::Executor exec(1);
  const edgeattn::RunArgs args = p.args();
  edgeattn::Plan plan;
  st = layer->plan(args.shape, 1, &plan);
  if (!st) return usage(st.message());
  AlignedBuffer ws = aligned_buffer(plan.workspace_size());
  const std::size_t bytes = plan.workspace_size();
  st = layer->run(plan, args, ws.get(), bytes, exec);
  if (!st) return usage(st.message());
  edgeattn_icount_measured([&] { layer->run(plan, args, ws.get(), bytes, exec); }, repeats);
  std::printf("%s: %d runs, output[0] = %g\n", shape.name, repeats,
              static_cast<double>(p.output[0]));
  return 0;
}

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::vector<float> v(n);
  unsigned x = seed * 2654435761u + 1;
  for (float& f : v) {
    x = x * 1664525u + 1013904223u;
    f = static_cast<float>(x >> 8) / 8388608.0f - 1.0f;
  }
  return v;
}

int run_core(const char* port, int repeats) {
  const int B = 1, H = 12, Lq = 128, Lkv = 384, D = 64;
  std::vector<float> q = random_floats(std::size_t(B) * H * Lq * D, 1);
  std::vector<float> k = random_floats(std::size_t(B) * H * Lkv * D, 2);
  std::vector<float> v = random_floats(std::size_t(B) * H * Lkv * D, 3);
  std::vector<float> y(q.size());
  edgeattn::AttentionArgs a;
  a.batch = B;
  a.q_heads = H;
  a.q_len = Lq;
  a.kv_len = Lkv;
  a.head_dim = D;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.y = y.data();
  a.port = port;
  edgeattn::Executor exec(1);
  edgeattn::Plan plan;
  edgeattn::Status st = edgeattn::plan_attention(a, 1, &plan);
  if (!st) return usage(st.message());
  AlignedBuffer ws = aligned_buffer(plan.workspace_size());
  const std::size_t bytes = plan.workspace_size();
  st = edgeattn::attention(plan, a, ws.get(), bytes, exec);
  if (!st) return usage(st.message());
  edgeattn_icount_measured([&] { edgeattn::attention(plan, a, ws.get(), bytes, exec); }, repeats);
  std::printf("attention core: %d calls, y[0] = %g\n", repeats, static_cast<double>(y[0]));
  return 0;
}

int run_decode_step(const char* port, int repeats) {
  const edgeattn::tools::StandardShape& shape = standard_shape("S6_decode");
  edgeattn::tools::StandardProblem p(shape);
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = create_layer(p, port, &layer);
  if (!st) return usage(st.message());
  const int past = shape.kv_len, E = shape.embed_dim, H = shape.heads;
  edgeattn::KvCacheSpec cs;
  cs.kv_heads = H;
  cs.head_dim = E / H;
  cs.capacity = past + 1;
  std::unique_ptr<edgeattn::KvCache> cache;
  st = edgeattn::KvCache::create(cs, &cache);
  if (!st) return usage(st.message());
  const std::vector<float> kv = random_floats(std::size_t(past) * E, 4);
  st = cache->append(kv.data(), kv.data(), past, edgeattn::AttentionLayout::bsd);
  if (!st) return usage(st.message());
  edgeattn::Executor exec(1);
  edgeattn::RunArgs args;
  args.shape = {1, 1, 0};
  args.query = p.query.data();
  args.output = p.output.data();
  edgeattn::Plan plan;
  st = layer->plan_decode(*cache, args.shape, 1, &plan);
  if (!st) return usage(st.message());
  AlignedBuffer ws = aligned_buffer(plan.workspace_size());
  const std::size_t bytes = plan.workspace_size();
  auto step = [&] {  // one token over the 1024 cached positions, then forget it again
    layer->decode(plan, args, cache.get(), ws.get(), bytes, exec);
    cache->truncate(past);
  };
  step();
  if (cache->length() != past) return usage("the decode step failed");
  edgeattn_icount_measured(step, repeats);
  std::printf("decode step: %d steps, output[0] = %g\n", repeats, static_cast<double>(p.output[0]));
  return 0;
}

int run_end_to_end(const char* what, const char* port, int repeats) {
  if (std::strncmp(what, "mha/edgeattn/", 13) == 0) return run_layer(what + 13, port, repeats);
  if (std::strncmp(what, "attention/", 10) == 0) return run_core(port, repeats);
  return run_decode_step(port, repeats);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<edgeattn::bench::KernelCase> cases =
      edgeattn::bench::kernel_cases(edgeattn::bench::CaseSize::counting);
  if (argc < 2) return usage("usage: edgeattn_icount --list | --context | <case> [repeats]");
  const std::string what = argv[1];
  if (what == "--list") {
    for (const auto& c : cases)
      if (c.cpu_supported()) std::printf("%s\n", c.name.c_str());
    for (const char* s : kEndToEnd)
      for (int i = 0; i < edgeattn::port_count(); ++i) {
        const edgeattn::PortInfo port = edgeattn::port_info(i);
        // A test port (emulated-avx512) is not counted: its counts would measure nothing real.
        if (port.cpu_supported && std::strncmp(port.name, "emulated-", 9) != 0)
          std::printf("%s\n", end_to_end_name(s, port.name).c_str());
      }
    return 0;
  }
  if (what == "--context") {
    edgeattn::PortInfo port{};
    edgeattn::select_port(nullptr, &port);
    std::printf("compiler=%s\nport=%s\nversion=%s\n", __VERSION__, port.name, edgeattn::version());
    return 0;
  }
  int repeats = 3;
  if (argc > 2) {
    char* end = nullptr;
    const long r = std::strtol(argv[2], &end, 10);
    if (*end != '\0' || r < 1 || r > 1000000)
      return usage("repeats must be an integer in [1, 1000000]");
    repeats = static_cast<int>(r);
  }
  for (const char* s : kEndToEnd)
    for (int i = 0; i < edgeattn::port_count(); ++i) {
      const char* port = edgeattn::port_info(i).name;
      if (what == end_to_end_name(s, port)) return run_end_to_end(s, port, repeats);
    }
  for (const auto& c : cases) {
    if (c.name != what) continue;
    if (!c.cpu_supported()) return usage(("this CPU cannot run " + what).c_str());
    edgeattn::bench::KernelRunner runner(c);
    runner.run();  // warm-up, outside the count
    edgeattn_icount_measured([&] { runner.run(); }, repeats);
    std::printf("%s: %d calls, result[0] = %g\n", what.c_str(), repeats,
                static_cast<double>(runner.result()[0]));
    return 0;
  }
  return usage(("unknown case '" + what + "' (see --list)").c_str());
}
