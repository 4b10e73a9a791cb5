// Port `generic`: the kernel templates instantiated over plain floats (ScalarVec). Runs on any
// CPU with any C++17 compiler, is always built, and is the last fallback. The compiler may
// still vectorise its loops for the build's baseline ISA.
//
// Tiles: a 4 × 8 GEMM tile is 32 scalar accumulators — the compiler keeps them in vector
// registers where it vectorises (8 SSE registers on x86-64) and spills gracefully elsewhere.
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }
constexpr Int8Gemm kInt8[] = {make_int8_gemm<kernels::I8Scalar, 4, 8>("generic", &always)};
constexpr KernelTable kTable =
    make_kernel_table<kernels::ScalarVec,
                      ProjectionTiles</*MR*/ 4, /*NR*/ 8, /*row block*/ 32, /*panels*/ 8>,
                      AttentionTiles</*MR*/ 4, /*NR*/ 8, /*TQ*/ 16, /*TK*/ 64>>("generic", &always,
                                                                                kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
