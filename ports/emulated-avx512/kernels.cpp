// Port `emulated-avx512` (tests only): the kernel templates over LanesVec<16>, 16 plain-float
// lanes with masked tails, and x86-avx512's tiles (ports/x86-avx512/tiles.hpp). Every test that
// runs on every port then exercises that port's tile geometry, edges, padding and tails on a
// CPU without AVX-512; what it cannot check is the intrinsics themselves.
#include "../x86-avx512/tiles.hpp"
#include "kernel_table.hpp"

namespace edgeattn {

namespace {
bool always() { return true; }
// int8: plain C++ over x86-avx512's panel width (its packed layout).
constexpr Int8Gemm kInt8[] = {
    make_int8_gemm<kernels::I8Scalar, avx512::Projection::MR, avx512::Projection::NR>(
        "emulated_avx512", &always)};
constexpr KernelTable kTable =
    make_kernel_table<kernels::LanesVec<16>, avx512::Projection, avx512::Attention>(
        "emulated-avx512", &always, kInt8, 1);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
