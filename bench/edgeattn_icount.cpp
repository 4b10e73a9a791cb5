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

// End-to-end cases: a standard shape through the public API on each port, one executor
// thread (a fixed schedule: the count must not depend on how threads interleave).
const char* const kEndToEnd[] = {"S1_tiny_edge"};

std::string end_to_end_name(const char* shape, const char* port) {
  return std::string("mha/edgeattn/") + shape + "/threads:1/port:" + port;
}

int usage(const char* msg) {
  std::fprintf(stderr, "edgeattn_icount: %s\n", msg);
  return 2;
}

int run_end_to_end(const edgeattn::tools::StandardShape& shape, const char* port, int repeats) {
  edgeattn::tools::StandardProblem p(shape);
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::LayerSpec spec = p.spec();
  spec.port = port;
  edgeattn::Status st = edgeattn::Layer::create(spec, &layer);
  if (!st) return usage(st.message());
  edgeattn::Executor exec(1);
  const edgeattn::RunArgs args = p.args();
  std::size_t bytes = 0;
  layer->workspace_size(args.shape, 1, &bytes);
  std::unique_ptr<void, void (*)(void*)> ws(std::aligned_alloc(64, (bytes + 63) / 64 * 64),
                                            std::free);
  st = layer->run(args, ws.get(), bytes, exec);
  if (!st) return usage(st.message());
  edgeattn_icount_measured([&] { layer->run(args, ws.get(), bytes, exec); }, repeats);
  std::printf("%s: %d runs, output[0] = %g\n", shape.name, repeats,
              static_cast<double>(p.output[0]));
  return 0;
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
      for (int i = 0; i < edgeattn::port_count(); ++i)
        if (edgeattn::port_info(i).cpu_supported)
          std::printf("%s\n", end_to_end_name(s, edgeattn::port_info(i).name).c_str());
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
      if (what != end_to_end_name(s, port)) continue;
      for (const auto& shape : edgeattn::tools::kStandardShapes)
        if (std::strcmp(shape.name, s) == 0) return run_end_to_end(shape, port, repeats);
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
