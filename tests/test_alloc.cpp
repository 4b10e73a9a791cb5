// Proves that runs do not allocate: global operator new/delete and malloc/calloc/realloc are
// replaced by counting versions, and after one warm-up run (oneTBB creates its worker threads
// and task pools lazily) further runs must not allocate at all, at 1 and 2 threads: cross- and
// self-attention (the fused projection), one-shot, with a plan and with the layer's owned
// workspace; Layer::decode steps through a KV cache, the attention core and attention over a
// cache, one-shot and with plans. Built as its own binary without sanitizers, which
// replace malloc themselves.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "test_util.hpp"

namespace {
std::atomic<long> g_allocations{0};
std::atomic<bool> g_counting{false};

void count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}

using malloc_fn = void* (*)(std::size_t);
using calloc_fn = void* (*)(std::size_t, std::size_t);
using realloc_fn = void* (*)(void*, std::size_t);
using memalign_fn = int (*)(void**, std::size_t, std::size_t);
}  // namespace

// The C allocation functions, forwarded to glibc's through their __libc_ names.
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
extern "C" void* __libc_memalign(std::size_t, std::size_t);

extern "C" void* malloc(std::size_t n) {
  count();
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t a, std::size_t b) {
  count();
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, std::size_t n) {
  count();
  return __libc_realloc(p, n);
}
extern "C" void* aligned_alloc(std::size_t a, std::size_t n) {
  count();
  return __libc_memalign(a, n);
}
extern "C" int posix_memalign(void** out, std::size_t a, std::size_t n) {
  count();
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;
}

void* operator new(std::size_t n) {
  count();
  if (void* p = __libc_malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  count();
  if (void* p = __libc_memalign(static_cast<std::size_t>(a), n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace edgeattn;
using namespace edgeattn::test;

int main() {
  int failures = 0;
  // The counter must see the library's allocations, or a zero would prove nothing.
  {
    g_counting = true;
    const long before = g_allocations.load();
    CaseConfig cfg;
    std::unique_ptr<Layer> layer;
    const Case probe = make_case(cfg, 1);
    (void)Layer::create(probe.spec(), &layer);
    g_counting = false;
    if (g_allocations.load() - before < 4) {
      std::printf("FAIL: allocation counter saw no allocation in Layer::create\n");
      return 1;
    }
  }
  for (int threads : {1, 2}) {
    for (AttnWeightsOutput w : {AttnWeightsOutput::none, AttnWeightsOutput::averaged}) {
      CaseConfig cfg;
      cfg.embed_dim = 64;
      cfg.num_heads = 4;
      cfg.batch = 2;
      cfg.q_len = 70;
      cfg.kv_len = 90;
      cfg.cross = true;
      cfg.attn_mask = MaskType::boolean;
      cfg.key_padding_mask = MaskType::additive;
      cfg.causal = true;
      cfg.bias_kv = true;
      cfg.weights = w;
      // One thread runs fp32 and int8 weights (int8: the activations' quantization pass);
      // two threads f16 and bf16 ones.
      const bool plain = w == AttnWeightsOutput::none;
      cfg.weight_type = threads == 1 ? (plain ? ElementType::f32 : ElementType::int8)
                                     : (plain ? ElementType::f16 : ElementType::bf16);
      const Case c = make_case(cfg, 2);
      std::unique_ptr<Layer> layer;
      if (!Layer::create(c.spec(), &layer).ok()) return 1;
      Executor exec(threads);
      std::size_t bytes = 0;
      (void)layer->workspace_size({cfg.batch, cfg.q_len, cfg.kv_len}, threads, &bytes);
      Workspace ws(bytes);
      std::vector<float> out(c.output_size()), weights(c.weights_size() + 1);
      const RunArgs args = c.args(out.data(), weights.data());
      if (!layer->run(args, ws.data(), ws.bytes, exec).ok()) return 1;  // warm-up
      g_allocations = 0;
      g_counting = true;
      bool ok = true;
      for (int rep = 0; rep < 20; ++rep)
        ok = ok && layer->run(args, ws.data(), ws.bytes, exec).ok();
      // An error path must not allocate either.
      RunArgs bad = args;
      bad.shape.q_len = 1000;
      ok = ok && !layer->run(bad, ws.data(), ws.bytes, exec).ok();
      g_counting = false;
      const long n = g_allocations.load();
      std::printf("threads=%d weights=%d: %ld allocations in 21 runs%s\n", threads,
                  static_cast<int>(w), n, ok ? "" : " (a run failed)");
      if (n != 0 || !ok) ++failures;
    }
  }
  // Self-attention (Q, K and V in one fused projection): the one-shot run, a run with a plan
  // made beforehand, and the layer's owned workspace (run(args)).
  for (int threads : {1, 2}) {
    CaseConfig cfg;
    cfg.embed_dim = 96;
    cfg.num_heads = 6;
    cfg.num_kv_heads = 3;
    cfg.batch = 2;
    cfg.q_len = cfg.kv_len = 150;  // two key tiles on every port
    cfg.causal = true;
    const Case c = make_case(cfg, 4);
    LayerSpec spec = c.spec();
    spec.max_batch = 2;
    spec.max_q_len = 150;
    spec.num_threads = threads;
    std::unique_ptr<Layer> layer;
    if (!Layer::create(spec, &layer).ok()) return 1;
    Executor exec(threads);
    Plan plan;
    if (!layer->plan({2, 150, 0}, threads, &plan).ok()) return 1;
    Workspace ws(plan.workspace_size());
    std::vector<float> out(c.output_size());
    const RunArgs args = c.args(out.data(), nullptr);
    bool ok = layer->run(args, ws.data(), ws.bytes, exec).ok();  // warm-up
    ok = ok && layer->run(plan, args, ws.data(), ws.bytes, exec).ok();
    ok = ok && layer->run(args).ok();
    g_allocations = 0;
    g_counting = true;
    for (int rep = 0; rep < 10; ++rep) {
      ok = ok && layer->run(args, ws.data(), ws.bytes, exec).ok();
      ok = ok && layer->run(plan, args, ws.data(), ws.bytes, exec).ok();
      ok = ok && layer->run(args).ok();
    }
    g_counting = false;
    const long n = g_allocations.load();
    std::printf(
        "threads=%d self-attention: %ld allocations in 10 one-shot, 10 planned and 10 "
        "owned-workspace runs%s\n",
        threads, n, ok ? "" : " (a run failed)");
    if (n != 0 || !ok) ++failures;
  }
  for (int threads : {1, 2}) {
    CaseConfig cfg;
    cfg.embed_dim = 64;
    cfg.num_heads = 4;
    cfg.num_kv_heads = 2;
    cfg.q_len = cfg.kv_len = 300;  // a 279-token prompt, then 20 single-token steps
    const Case c = make_case(cfg, 3);
    LayerSpec spec = c.spec();
    spec.weight_type = threads == 2 ? ElementType::int8 : ElementType::f32;
    std::unique_ptr<Layer> layer;
    if (!Layer::create(spec, &layer).ok()) return 1;
    KvCacheSpec cs;
    cs.kv_heads = 2;
    cs.head_dim = 16;
    cs.capacity = 299;  // full after the last step: one more is refused
    // One thread: a f16 cache (rounded on append); two: an int8 cache (quantized on append)
    // under int8 weights.
    cs.element_type = threads == 2 ? ElementType::int8 : ElementType::f16;
    std::unique_ptr<KvCache> cache;
    if (!KvCache::create(cs, &cache).ok()) return 1;
    Executor exec(threads);
    std::vector<float> out(static_cast<std::size_t>(300) * 64);
    RunArgs args;
    args.shape = {1, 279, 0};
    args.query = c.query.data();
    args.output = out.data();
    std::size_t prompt_bytes = 0, step_bytes = 0;
    (void)layer->decode_workspace_size(*cache, args.shape, threads, &prompt_bytes);
    (void)layer->decode_workspace_size(*cache, {1, 1, 0}, threads, &step_bytes);
    Workspace ws(std::max(prompt_bytes, step_bytes));
    bool ok = layer->decode(args, cache.get(), ws.data(), ws.bytes, exec).ok();  // the prompt
    args.shape = {1, 1, 0};
    args.query = c.query.data() + 279 * 64;
    ok = ok && layer->decode(args, cache.get(), ws.data(), ws.bytes, exec).ok();  // warm-up step
    // The attention core on projected Q/K/V and attention over the cache, warmed up too.
    AttentionArgs core;
    core.q_heads = 4;
    core.kv_heads = 2;
    core.q_len = 5;
    core.kv_len = 40;
    core.head_dim = 16;
    core.q = c.query.data();
    core.k = core.v = c.query.data() + 320;
    core.causal = true;
    core.y = out.data();
    std::size_t core_bytes = 0;
    (void)attention_workspace_size(core, threads, &core_bytes);
    Workspace core_ws(core_bytes);
    CachedAttentionArgs cached;
    cached.q_heads = 4;
    cached.q_len = 1;
    cached.q = c.query.data();
    cached.y = out.data() + 1000;
    std::size_t cached_bytes = 0;
    (void)attention_workspace_size(*cache, cached, threads, &cached_bytes);
    Workspace cached_ws(cached_bytes);
    ok = ok && attention(core, core_ws.data(), core_ws.bytes, exec).ok();
    ok = ok && attention(*cache, cached, cached_ws.data(), cached_ws.bytes, exec).ok();
    // The same three with plans made beforehand.
    Plan step_plan, core_plan, cached_plan;
    ok = ok && layer->plan_decode(*cache, {1, 1, 0}, threads, &step_plan).ok();
    ok = ok && plan_attention(core, threads, &core_plan).ok();
    ok = ok && plan_attention(*cache, cached, threads, &cached_plan).ok();
    ok = ok && step_plan.workspace_size() <= ws.bytes &&
         core_plan.workspace_size() <= core_ws.bytes &&
         cached_plan.workspace_size() <= cached_ws.bytes;
    ok = ok && attention(core_plan, core, core_ws.data(), core_ws.bytes, exec).ok();
    g_allocations = 0;
    g_counting = true;
    for (int step = 1; step < 20; ++step) {  // odd steps one-shot, even steps with plans
      args.query = c.query.data() + static_cast<std::size_t>(279 + step) * 64;
      if (step % 2) {
        ok = ok && layer->decode(args, cache.get(), ws.data(), ws.bytes, exec).ok();
        ok = ok && attention(core, core_ws.data(), core_ws.bytes, exec).ok();
        ok = ok && attention(*cache, cached, cached_ws.data(), cached_ws.bytes, exec).ok();
      } else {
        ok = ok && layer->decode(step_plan, args, cache.get(), ws.data(), ws.bytes, exec).ok();
        ok = ok && attention(core_plan, core, core_ws.data(), core_ws.bytes, exec).ok();
        ok = ok &&
             attention(cached_plan, *cache, cached, cached_ws.data(), cached_ws.bytes, exec).ok();
      }
    }
    ok = ok && !layer->decode(args, cache.get(), ws.data(), ws.bytes, exec).ok();  // full: an error
    g_counting = false;
    const long n = g_allocations.load();
    std::printf(
        "threads=%d decode: %ld allocations in 19 decode steps, 19 core and 19 cached calls, "
        "1 refused step%s\n",
        threads, n, ok ? "" : " (a call failed)");
    if (n != 0 || !ok) ++failures;
  }
  std::printf(failures ? "FAIL\n" : "PASS\n");
  return failures ? 1 : 0;
}
