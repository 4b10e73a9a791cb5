// Executor on oneTBB. A task_arena caps the threads working for a run at num_threads; entering
// it from inside a caller's own TBB work is allowed (the caller's thread joins our arena), so a
// nested run() cannot deadlock.
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>

#include "access.hpp"
#include "executor.hpp"

namespace edgeattn {

struct detail::ExecutorImpl {
  explicit ExecutorImpl(int threads) : num_threads(threads), arena(threads) { arena.initialize(); }
  int num_threads = 1;
  mutable tbb::task_arena arena;
};

int default_num_threads() { return std::max(1, tbb::info::default_concurrency()); }

void parallel_for(const Executor& exec, std::size_t count, TaskFn fn, void* context) {
  const auto& e = *detail::Access::impl(exec);
  const int num_threads = e.num_threads;
  if (count == 0) return;
  if (num_threads == 1 || count == 1) {
    for (std::size_t i = 0; i < count; ++i) fn(context, i, 0);
    return;
  }
  e.arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, count, 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
          const int slot = tbb::this_task_arena::current_thread_index();
          for (std::size_t i = r.begin(); i != r.end(); ++i) fn(context, i, slot);
        },
        tbb::simple_partitioner());
  });
}

Executor::Executor(int num_threads)
    : impl_(new detail::ExecutorImpl(num_threads > 0 ? num_threads : default_num_threads())) {}
Executor::~Executor() = default;
int Executor::num_threads() const { return impl_->num_threads; }

void* detail::Access::task_arena(const Executor& executor) { return &impl(executor)->arena; }

}  // namespace edgeattn
