#include "engine/projection.hpp"

#include <algorithm>

#include "size_math.hpp"

#include "executor.hpp"

namespace edgeattn::engine {
namespace {
// In 64 bits: planning meets sizes near INT_MAX before it rejects them.
int ceil_div(int a, int b) { return static_cast<int>((static_cast<long long>(a) + b - 1) / b); }

struct StageContext {
  const Projection* const* p;
  int count;
};

// Task t of a stage: the t-th of the projections' tasks of one kind (tasks(): the GEMM's;
// quantize_tasks(): the int8 rows'), in projection order.
template <std::size_t (Projection::*count)() const, void (Projection::*run)(std::size_t) const>
void stage_task(void* c, std::size_t t, int /*slot*/) {
  const StageContext& x = *static_cast<const StageContext*>(c);
  for (int i = 0; i < x.count; ++i) {
    const std::size_t n = (x.p[i]->*count)();
    if (t < n) {
      (x.p[i]->*run)(t);
      return;
    }
    t -= n;
  }
}
}  // namespace

SeqStrides seq_strides(SequenceLayout layout, int batch, int len, int width) {
  if (layout == SequenceLayout::seq_first)
    return {width, static_cast<std::ptrdiff_t>(batch) * width};
  return {static_cast<std::ptrdiff_t>(len) * width, width};
}

void Projection::plan(const KernelTable& kernels, ElementType weight_type_, int batch_, int rows_,
                      int K_, const std::int32_t* features_, int outliers_) {
  k = &kernels;
  weight_type = static_cast<int>(weight_type_);
  int8 = weight_type_ == ElementType::int8 ? &kernels.int8_gemm() : nullptr;
  K4 = (K_ + 3) / 4 * 4;
  blocks = kernels::int8_blocks(K_);
  features = features_;
  outliers = int8 ? outliers_ : 0;
  batch = batch_;
  rows = rows_;
  K = K_;
  segments = 0;
}

void Projection::add_segment(const void* packed, int N) {
  Segment& s = seg[segments++];
  s = Segment{};
  s.packed = packed;
  s.N = N;
}

void Projection::plan_grid() {
  int panels = 0;
  for (int i = 0; i < segments; ++i) panels += (seg[i].panels = ceil_div(seg[i].N, k->gemm_nr));
  // As few row blocks as the port's maximum allows (each task streams its panels of the
  // weights once, so fewer row blocks read the weights fewer times), of equal size, so that no
  // thread is left with a short remainder block.
  row_blocks = ceil_div(rows, k->gemm_row_block);
  row_block = ceil_div(ceil_div(rows, row_blocks), k->gemm_mr) * k->gemm_mr;
  panel_blocks = ceil_div(panels, k->gemm_panel_block);
}

std::size_t Projection::quantized_bytes() const {
  return round_up(static_cast<std::size_t>(batch) * rows * K4, 64);
}

std::size_t Projection::scale_floats() const {
  return round_up(static_cast<std::size_t>(batch) * rows * blocks, 16);
}

std::size_t Projection::quantized_floats() const {
  if (!int8) return 0;
  std::size_t n = 0, bytes = 0;  // rows, and an upper bound of the bytes they take
  const std::size_t per_row =
      static_cast<std::size_t>(K4) + (static_cast<std::size_t>(blocks) + outliers) * sizeof(float);
  if (!checked_product({static_cast<std::size_t>(batch), static_cast<std::size_t>(rows)}, &n) ||
      !checked_mul(n, per_row, &bytes) || bytes > static_cast<std::size_t>(-1) - 256)
    return static_cast<std::size_t>(-1);  // the workspace layout reports it as an overflow
  return quantized_bytes() / sizeof(float) + scale_floats() + n * outliers;
}

std::size_t quantized_floats_sum(std::initializer_list<const Projection*> projections) {
  std::size_t total = 0;
  for (const Projection* p : projections) {
    const std::size_t n = p->quantized_floats();
    if (n > static_cast<std::size_t>(-1) - total) return static_cast<std::size_t>(-1);
    total += n;
  }
  return total;
}

void Projection::run_quantize_task(std::size_t t) const {
  const int rb = static_cast<int>(t % row_blocks);
  const int b = static_cast<int>(t / row_blocks);
  const int row0 = rb * row_block;
  const int nrows = std::min(row_block, rows - row0);
  const std::size_t first = static_cast<std::size_t>(b) * rows + row0;
  k->quantize_rows(a + b * in.batch + row0 * in.token, in.token, nrows, K, features, outliers,
                   qa + first * K4, K4, qscale + first * blocks, qoutlier + first * outliers);
}

void Projection::run_task(std::size_t t) const {
  const int pb = static_cast<int>(t % panel_blocks);
  t /= panel_blocks;
  const int rb = static_cast<int>(t % row_blocks);
  const int b = static_cast<int>(t / row_blocks);
  const int row0 = rb * row_block;
  const int nrows = std::min(row_block, rows - row0);
  // Panels [p0, p1) of the concatenation, cut at segment boundaries.
  const int p0 = pb * k->gemm_panel_block, p1 = p0 + k->gemm_panel_block;
  for (int i = 0, first = 0; i < segments && p0 < p1; first += seg[i].panels, ++i) {
    const int lo = std::max(p0, first), hi = std::min(p1, first + seg[i].panels);
    if (lo >= hi) continue;
    kernels::OutputMap m = seg[i].map;
    m.base += b * seg[i].out_batch_step;
    if (int8) {
      const std::size_t row_base = static_cast<std::size_t>(b) * rows;
      const kernels::Int8Rows rows_q{qa + row_base * K4,
                                     K4,
                                     qscale + row_base * blocks,
                                     blocks,
                                     qoutlier + row_base * outliers,
                                     outliers};
      (nrows == 1 ? int8->block_1row : int8->block)(rows_q, row0, nrows, K, seg[i].packed,
                                                    lo - first, hi - first, seg[i].N, m);
      continue;
    }
    (nrows == 1 ? k->gemm_block_1row : k->gemm_block)[weight_type](
        a + b * in.batch, in.token, row0, nrows, K, seg[i].packed, lo - first, hi - first, seg[i].N,
        m);
  }
}

void run_projections(const Projection* const* projections, int count, const Executor& exec) {
  StageContext x{projections, count};
  std::size_t quantize = 0;
  for (int i = 0; i < count; ++i) quantize += projections[i]->quantize_tasks();
  if (quantize > 0)
    parallel_for(exec, quantize,
                 stage_task<&Projection::quantize_tasks, &Projection::run_quantize_task>, &x);
  std::size_t tasks = 0;
  for (int i = 0; i < count; ++i) tasks += projections[i]->tasks();
  parallel_for(exec, tasks, stage_task<&Projection::tasks, &Projection::run_task>, &x);
}

}  // namespace edgeattn::engine
