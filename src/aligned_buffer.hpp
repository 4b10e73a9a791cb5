// 64-byte aligned float storage the library owns (packed weights, biases, owned workspaces and
// caches), allocated only at create()/plan time.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>

namespace edgeattn {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;
AlignedFloats allocate_floats(std::size_t count);  // null on failure (or when count overflows)

}  // namespace edgeattn
