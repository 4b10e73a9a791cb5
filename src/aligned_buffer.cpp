#include "aligned_buffer.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "edgeattn/edgeattn.hpp"
#include "size_math.hpp"

namespace edgeattn {

namespace {
// Buffers of at least this size start on its boundary, and their whole pages of this size are
// offered to Linux's transparent huge pages (MADV_HUGEPAGE; 2 MB is the huge page of x86-64
// and of AArch64 with 4 KB pages). A decode step reads a layer's weights and cache once each:
// with 4 KB pages its TLB misses cost about a fifth of an fp32 S6 step (docs/benchmarks.md).
// The tail past the last whole 2 MB stays in small pages, so nothing is added to what the
// buffer occupies.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
}  // namespace

AlignedFloats allocate_floats(std::size_t count) {
  std::size_t bytes = 0;
  if (!checked_mul(count, sizeof(float), &bytes)) return nullptr;
  bytes = (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
  if (bytes == 0) bytes = kWorkspaceAlignment;
  if (bytes < kHugePage)
    return AlignedFloats(static_cast<float*>(std::aligned_alloc(kWorkspaceAlignment, bytes)));
  // aligned_alloc wants a multiple of the alignment; the rounding is address space only (the
  // library never touches past `bytes`, and only whole huge pages within `bytes` are advised).
  std::size_t rounded = 0;
  if (!checked_mul((bytes + kHugePage - 1) / kHugePage, kHugePage, &rounded)) return nullptr;
  void* p = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) (void)::madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice only
#endif
  return AlignedFloats(static_cast<float*>(p));
}

}  // namespace edgeattn
