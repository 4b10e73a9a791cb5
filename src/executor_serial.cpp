// Executor without oneTBB (EDGEATTN_EXECUTOR=serial): the same API, one thread, tasks run in
// order on the caller. For boards where oneTBB is not available, firmware that must not start
// threads, and ThreadSanitizer runs (Debian's oneTBB is not instrumented).
#include "access.hpp"
#include "executor.hpp"

namespace edgeattn {

struct detail::ExecutorImpl {
  int num_threads = 1;
};

int default_num_threads() { return 1; }

void parallel_for(const Executor& /*exec*/, std::size_t count, TaskFn fn, void* context) {
  for (std::size_t i = 0; i < count; ++i) fn(context, i, 0);
}

// Every executor of this build has one thread, whatever was asked for.
Executor::Executor(int /*num_threads*/) : impl_(new detail::ExecutorImpl()) {}
Executor::~Executor() = default;

void* detail::Access::task_arena(const Executor& /*executor*/) { return nullptr; }
int Executor::num_threads() const { return impl_->num_threads; }

}  // namespace edgeattn
