#include "openblas_mha.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#if EDGEATTN_BENCH_TBB
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#endif

namespace edgeattn::bench {

OpenblasMha::OpenblasMha(const tools::StandardProblem& p, int threads)
    : shape_(p.shape),
      threads_(threads),
      softmax_(best_softmax())
#if EDGEATTN_BENCH_TBB
      ,
      arena_(threads)
#endif
{
  const auto E = static_cast<std::size_t>(shape_.embed_dim),
             Lq = static_cast<std::size_t>(shape_.q_len),
             Lkv = static_cast<std::size_t>(shape_.kv_len);
  auto append = [](std::vector<float>& to, const std::vector<float>& from) {
    to.insert(to.end(), from.begin(), from.end());
  };
  if (p.self()) {
    for (const auto* w : {&p.wq, &p.wk, &p.wv}) append(w_qkv_, *w);
    for (const auto* b : {&p.bq, &p.bk, &p.bv}) append(b_qkv_, *b);
    qkv_.resize(Lq * 3 * E);
  } else {
    for (const auto* w : {&p.wk, &p.wv}) append(w_qkv_, *w);
    for (const auto* b : {&p.bk, &p.bv}) append(b_qkv_, *b);
    qkv_.resize(Lkv * 2 * E);
    q_.resize(Lq * E);
  }
  concat_.resize(Lq * E);
  scores_.resize(static_cast<std::size_t>(threads) * Lq * Lkv);  // one score block per thread
}

void OpenblasMha::linear(const float* in, int rows, int k, const float* w, const float* bias, int n,
                         float* out) {
  for (int r = 0; r < rows; ++r) std::copy(bias, bias + n, out + static_cast<std::size_t>(r) * n);
  openblas_set_num_threads(threads_);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, n, k, 1.0f, in, k, w, k, 1.0f, out, n);
  openblas_set_num_threads(1);  // inside the heads
}

void OpenblasMha::forward(tools::StandardProblem& p) {
  const int E = shape_.embed_dim, H = shape_.heads, hd = E / H, Lq = shape_.q_len,
            Lkv = shape_.kv_len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int b = 0; b < shape_.batch; ++b) {
    const float* xq = p.query.data() + static_cast<std::size_t>(b) * Lq * E;
    // Where each head's Q, K and V columns start, and their row strides.
    const float *q, *k, *v;
    int ldq, ldkv;
    if (p.self()) {
      linear(xq, Lq, E, w_qkv_.data(), b_qkv_.data(), 3 * E, qkv_.data());
      q = qkv_.data(), k = q + E, v = q + 2 * E;
      ldq = ldkv = 3 * E;
    } else {
      const float* xkv = p.kv.data() + static_cast<std::size_t>(b) * Lkv * E;
      linear(xq, Lq, E, p.wq.data(), p.bq.data(), E, q_.data());
      linear(xkv, Lkv, E, w_qkv_.data(), b_qkv_.data(), 2 * E, qkv_.data());
      q = q_.data(), k = qkv_.data(), v = k + E;
      ldq = E, ldkv = 2 * E;
    }
    auto head = [&](int h, float* scores) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Lq, Lkv, hd, scale, q + h * hd, ldq,
                  k + h * hd, ldkv, 0.0f, scores, Lkv);
      const auto t0 = std::chrono::steady_clock::now();
      softmax_.fn(scores, Lq, Lkv, Lkv);
      softmax_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Lq, hd, Lkv, 1.0f, scores, Lkv,
                  v + h * hd, ldkv, 0.0f, concat_.data() + h * hd, E);
    };
#if EDGEATTN_BENCH_TBB
    if (threads_ > 1) {
      arena_.execute([&] {
        tbb::parallel_for(
            tbb::blocked_range<int>(0, H),
            [&](const tbb::blocked_range<int>& r) {
              float* scores =
                  scores_.data() +
                  static_cast<std::size_t>(tbb::this_task_arena::current_thread_index()) * Lq * Lkv;
              for (int h = r.begin(); h < r.end(); ++h) head(h, scores);
            },
            tbb::static_partitioner());
      });
    } else
#endif
    {
      if (threads_ > 1) openblas_set_num_threads(threads_);  // no oneTBB: OpenBLAS's threads
      for (int h = 0; h < H; ++h) head(h, scores_.data());
      openblas_set_num_threads(1);
    }
    linear(concat_.data(), Lq, E, p.wo.data(), p.bo.data(), E,
           p.output.data() + static_cast<std::size_t>(b) * Lq * E);
  }
}

}  // namespace edgeattn::bench
