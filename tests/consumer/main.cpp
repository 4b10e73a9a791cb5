// Downstream smoke test: one self-attention run through the public API.
#include <cmath>
#include <cstdio>
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
  std::printf("consumer OK with edgeattn %s (headers %s)\n", edgeattn::version(),
              EDGEATTN_VERSION_STRING);
  return 0;
}
