// Executor without oneTBB (EDGEATTN_EXECUTOR=serial): the same API, one thread, tasks run in
// order on the caller. For boards where oneTBB is not available, firmware that must not start
// threads, and ThreadSanitizer runs (Debian's oneTBB is not instrumented).
#include "executor.hpp"

namespace edgeattn {

struct Executor::Impl::Arena {};

int default_num_threads() { return 1; }

Executor::Impl::Impl(int /*threads*/) : num_threads(1) {}
Executor::Impl::~Impl() = default;

void Executor::Impl::parallel_for(std::size_t count, TaskFn fn, void* context) const {
  for (std::size_t i = 0; i < count; ++i) fn(context, i, 0);
}

// Every executor of this build has one thread, whatever was asked for.
Executor::Executor(int /*num_threads*/) : impl_(new Impl(1)) {}
Executor::~Executor() = default;
int Executor::num_threads() const { return impl_->num_threads; }

}  // namespace edgeattn
