// The library's way into its public classes' private parts (each declares detail::Access a
// friend), so the public header carries no accessor of internals.
#pragma once

#include <memory>

#include "edgeattn/edgeattn.hpp"

namespace edgeattn::detail {

struct Access {
  // Null for an empty plan; never null for the others.
  template <class T>
  static auto* impl(T& object) {
    return object.impl_.get();
  }
  template <class T>
  static const auto* impl(const T& object) {
    return object.impl_.get();
  }
  // Plans are created empty by the caller and filled by the plan functions.
  static void set(Plan* plan, std::unique_ptr<PlanImpl> impl);
  // White-box tests only: the executor's tbb::task_arena (null in serial builds), so a test can
  // observe which threads join a run.
  static void* task_arena(const Executor& executor);
};

}  // namespace edgeattn::detail
