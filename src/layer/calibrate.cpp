// int8 calibration: a forward run that records, per feature, the largest |x| at the inputs of
// the layer's projections (the caller's inputs, and the concatenated heads the run leaves in
// its workspace), from which LayerSpec::int8_outliers is chosen.
#include <algorithm>
#include <cmath>

#include "aligned_buffer.hpp"
#include "layer/layer_impl.hpp"

namespace edgeattn {

namespace {

// Raises amax[f] to |x| over `rows` rows of `width` floats (the first amax.size() features).
void raise_amax(const float* x, std::size_t rows, int width, std::vector<float>* amax) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t f = 0; f < amax->size(); ++f)
      (*amax)[f] = std::max((*amax)[f], std::fabs(x[r * static_cast<std::size_t>(width) + f]));
}

std::vector<int> top(const std::vector<float>& amax, int count) {
  std::vector<int> order(kInt8MaxOutliers);
  order.resize(
      static_cast<std::size_t>(int8_top_features(amax.data(), amax.size(), count, order.data())));
  return order;
}

}  // namespace

int int8_top_features(const float* amax, std::size_t count, int n, int* out) {
  const int want = static_cast<int>(
      std::min(count, static_cast<std::size_t>(std::clamp(n, 0, kInt8MaxOutliers))));
  // A selection of at most kInt8MaxOutliers winners, each the first strict maximum among the
  // features not yet taken.
  for (int k = 0; k < want; ++k) {
    int best = -1;
    for (std::size_t f = 0; f < count; ++f) {
      const int fi = static_cast<int>(f);
      if (std::find(out, out + k, fi) != out + k) continue;
      if (best < 0 || amax[f] > amax[best]) best = fi;
    }
    out[k] = best;
  }
  return want;
}

std::vector<int> Int8Calibration::top_inputs(int count) const { return top(inputs_amax, count); }
std::vector<int> Int8Calibration::top_heads(int count) const { return top(heads_amax, count); }

Status Layer::calibrate_int8(const RunArgs& args, Int8Calibration* stats) const {
  if (!stats) return Status::error(StatusCode::null_pointer, "stats is null");
  const LayerImpl& L = *impl_;
  const Shape stated{args.shape.batch, args.shape.q_len,
                     args.shape.kv_len == 0 ? args.shape.q_len : args.shape.kv_len};
  Status st = validate_run_args(L, args, stated);
  if (!st) return st;
  const int input_width = std::min({L.embed_dim, L.kdim, L.vdim});
  if (stats->inputs_amax.empty()) stats->inputs_amax.assign(input_width, 0.0f);
  if (stats->heads_amax.empty()) stats->heads_amax.assign(L.embed_dim, 0.0f);
  if (stats->inputs_amax.size() != static_cast<std::size_t>(input_width) ||
      stats->heads_amax.size() != static_cast<std::size_t>(L.embed_dim))
    return Status::error(StatusCode::shape_mismatch,
                         "stats hold %zu input and %zu head features, this layer has %d and %d",
                         stats->inputs_amax.size(), stats->heads_amax.size(), input_width,
                         L.embed_dim);
  LayerRunPlan plan;
  st = plan_run(L, stated, 1, &plan);
  if (!st) return st;
  AlignedFloats workspace = allocate_floats(plan.ws.total_floats());
  if (!workspace)
    return Status::error(StatusCode::out_of_memory, "out of memory allocating %zu-byte workspace",
                         plan.ws.bytes());
  const Executor serial(1);
  st = run_planned(L, plan, args, workspace.get(), plan.ws.bytes(), serial);
  if (!st) return st;
  // Every row of a [batch, len, width] input, in any layout, is `width` consecutive floats.
  const auto B = static_cast<std::size_t>(stated.batch);
  raise_amax(args.query, B * stated.q_len, L.embed_dim, &stats->inputs_amax);
  if (args.key) {
    raise_amax(args.key, B * stated.kv_len, L.kdim, &stats->inputs_amax);
    raise_amax(args.value, B * stated.kv_len, L.vdim, &stats->inputs_amax);
  }
  raise_amax(workspace.get() + plan.concat, B * stated.q_len, L.embed_dim, &stats->heads_amax);
  return Status();
}

}  // namespace edgeattn
