// Downstream smoke test: self-attention through the public API, with the layer's owned
// workspace and with a plan made once and a caller workspace.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include <edgeattn/edgeattn.hpp>

int main() {
  const int E = 8, H = 2, L = 3;
  std::vector<float> w(E * E, 0.0f);
  for (int i = 0; i < E; ++i) w[i * E + i] = 1.0f;
  edgeattn::LayerSpec spec;
  spec.embed_dim = E;
  spec.num_heads = H;
  spec.weights.q = spec.weights.k = spec.weights.v = spec.weights.out = w.data();
  spec.max_q_len = L;
  spec.num_threads = 1;
  std::unique_ptr<edgeattn::Layer> layer;
  edgeattn::Status st = edgeattn::Layer::create(spec, &layer);
  if (!st) {
    std::printf("create: %s\n", st.message());
    return 1;
  }
  std::vector<float> x(L * E, 0.25f), y(L * E);
  edgeattn::RunArgs args;
  args.layout = edgeattn::SequenceLayout::unbatched;
  args.shape.q_len = L;
  args.query = x.data();
  args.output = y.data();
  st = layer->run(args);
  if (!st || std::fabs(y[0] - 0.25f) > 1e-6f) {
    std::printf("run: %s, y[0] = %g\n", st.message(), static_cast<double>(y[0]));
    return 1;
  }
  edgeattn::Executor exec(1);
  edgeattn::Plan plan;
  st = layer->plan(args.shape, exec.num_threads(), &plan);
  if (!st || plan.workspace_size() == 0) {
    std::printf("plan: %s\n", st.message());
    return 1;
  }
  const std::size_t bytes = (plan.workspace_size() + 63) / 64 * 64;
  std::unique_ptr<void, void (*)(void*)> ws(
      std::aligned_alloc(edgeattn::kWorkspaceAlignment, bytes), std::free);
  std::vector<float> y2(L * E);
  args.output = y2.data();
  st = layer->run(plan, args, ws.get(), bytes, exec);
  if (!st || y2 != y) {
    std::printf("run with a plan: %s\n", st.message());
    return 1;
  }
  std::printf("consumer OK with edgeattn %s (headers %s)\n", edgeattn::version(),
              EDGEATTN_VERSION_STRING);
  return 0;
}
