// The executor's inside: a fixed-concurrency oneTBB task_arena (or the caller alone) and a
// parallel_for over task indices that hands each task the slot (0 .. num_threads-1) of the
// thread running it, so per-task scratch can be carved from the workspace by slot without
// allocating.
#pragma once

#include <cstddef>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn {

// A plain function pointer plus context instead of std::function: no allocation on the hot path.
using TaskFn = void (*)(void* context, std::size_t task, int slot);

// Runs fn(context, i, slot) for i in [0, count). Each index runs exactly once; which thread runs
// it does not change any result because tasks own disjoint outputs.
void parallel_for(const Executor& exec, std::size_t count, TaskFn fn, void* context);

}  // namespace edgeattn
