// Port `x86-avx512`: the kernel templates instantiated for xsimd::avx512bw (16 floats per zmm
// register), with the fused multiply-adds and masked tails xsimd 8.1 lacks as intrinsics
// (kernels/vec.hpp, SimdWords<avx512bw>). Serves x86-64 CPUs with AVX-512F/BW/DQ/VL: Intel
// Skylake-SP, Ice Lake, Tiger Lake, Sapphire Rapids; AMD Zen 4 and Zen 5. Only this file is
// compiled with the AVX-512 flags; the CPU check (cpu.cpp) is not, so it runs on any x86-64.
// Nothing here runs before the check: the table is constant-initialised data.
#include "cpu_features.hpp"
#include "kernel_table.hpp"
#include "tiles.hpp"

namespace edgeattn {

namespace {
constexpr KernelTable kTable =
    make_kernel_table<kernels::SimdVec<xsimd::avx512bw>, avx512::Projection, avx512::Attention>(
        "x86-avx512", &x86::cpu_runs_avx512);
}  // namespace

EDGEATTN_REGISTER_PORT(kTable)

}  // namespace edgeattn
