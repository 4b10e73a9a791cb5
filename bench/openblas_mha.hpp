// The multi-head attention a careful user composes from OpenBLAS, for edgeattn_bench's
// mha/openblas/... baseline: one sgemm for the fused Q/K/V projection of self-attention (over
// the concatenated [Wq; Wk; Wv]; Q alone and one sgemm over [Wk; Wv] for cross-attention), per
// head an sgemm for the scores (the 1/sqrt(d) scale as its alpha), a vectorised row softmax and
// an sgemm for P·V into the concatenation buffer, then the output projection sgemm. Biases are
// the C operand (beta = 1). With several threads the projections run on OpenBLAS's own threads
// and the heads are spread over a oneTBB arena, OpenBLAS single-threaded inside each head: on
// this project's 2-core machine that measured as fast as or faster than both OpenBLAS's threads
// everywhere (heads in turn) and oneTBB everywhere (projection row blocks too) on S1-S5, and
// within 15 % of the better of them on S6 (README, "Benchmarks and regressions"). Built without
// oneTBB (EDGEATTN_EXECUTOR=serial), the heads run in turn.
#pragma once

#include <atomic>
#include <vector>

#if EDGEATTN_BENCH_TBB
#include <oneapi/tbb/task_arena.h>
#endif

#include "shapes.hpp"
#include "softmax_rows.hpp"

namespace edgeattn::bench {

class OpenblasMha {
 public:
  OpenblasMha(const tools::StandardProblem& problem, int threads);
  // One forward pass of the problem's inputs into problem.output.
  void forward(tools::StandardProblem& problem);
  const char* softmax_name() const { return softmax_.name; }
  // Seconds spent in the softmax since construction, summed over threads.
  double softmax_seconds() const { return static_cast<double>(softmax_ns_.load()) * 1e-9; }

 private:
  const tools::StandardShape& shape_;
  int threads_;
  SoftmaxVariant softmax_;
  std::vector<float> w_qkv_, b_qkv_;  // [Wq; Wk; Wv] (self) or [Wk; Wv] (cross), rows of E
  std::vector<float> qkv_, q_, concat_, scores_;
  std::atomic<long long> softmax_ns_{0};
#if EDGEATTN_BENCH_TBB
  tbb::task_arena arena_;
#endif
  // out[rows, n] = bias + in[rows, k] · w[n, k]ᵀ on OpenBLAS's threads.
  void linear(const float* in, int rows, int k, const float* w, const float* bias, int n,
              float* out);
};

}  // namespace edgeattn::bench
