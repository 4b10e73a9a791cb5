#include "aligned_buffer.hpp"

#include "edgeattn/edgeattn.hpp"
#include "size_math.hpp"

namespace edgeattn {

AlignedFloats allocate_floats(std::size_t count) {
  std::size_t bytes = 0;
  if (!checked_mul(count, sizeof(float), &bytes)) return nullptr;
  bytes = (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
  if (bytes == 0) bytes = kWorkspaceAlignment;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(kWorkspaceAlignment, bytes)));
}

}  // namespace edgeattn
