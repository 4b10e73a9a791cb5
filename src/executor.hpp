// The executor's inside: a fixed-concurrency oneTBB task_arena and a parallel_for over task
// indices that hands each task the slot (0 .. num_threads-1) of the thread running it, so
// per-task scratch can be carved from the workspace by slot without allocating.
#pragma once

#include <cstddef>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn {

// A plain function pointer plus context instead of std::function: no allocation on the hot path.
using TaskFn = void (*)(void* context, std::size_t task, int slot);

struct Executor::Impl {
  explicit Impl(int threads);
  ~Impl();
  int num_threads = 1;
  // Runs fn(context, i, slot) for i in [0, count). Each index runs exactly once; which thread
  // runs it does not change any result because tasks own disjoint outputs.
  void parallel_for(std::size_t count, TaskFn fn, void* context) const;
  struct Arena;
  Arena* arena = nullptr;
};

namespace detail {
// For white-box tests only (not an installed header): the executor's tbb::task_arena, so a
// test can attach a task_scheduler_observer and see how many threads join a run. Only in
// builds with the oneTBB executor.
EDGEATTN_API void* executor_task_arena(const Executor& executor);
}  // namespace detail

}  // namespace edgeattn
