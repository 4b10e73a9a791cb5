// The x86-avx2 port's CPU check, compiled with the build's baseline flags (PLAIN_SOURCES in
// port.cmake): it runs before a port is chosen, on any x86-64, so it must not be compiled with
// -mavx2 (the compiler may use VEX encodings anywhere in such a file).
#include <cpuid.h>

namespace edgeattn::x86 {

// F16C (vcvtph2ps, for f16 weights) came with Ivy Bridge and Zen 1, before AVX2: every CPU
// with AVX2 and FMA has it, but the check says so rather than assume. It is read from CPUID
// (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports has no "f16c".
bool cpu_runs_avx2_fma() {
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

// The int8 variants' checks, read once (CPUID traps to the hypervisor in a virtual machine;
// plans ask at every run without a plan). AVX-VNNI: CPUID leaf 7 subleaf 1, EAX bit 4.
bool cpu_runs_avx_vnni() {
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return cpu_runs_avx2_fma() && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) &&
           (eax & (1u << 4)) != 0;
  }();
  return usable;
}

// EVEX-encoded ymm instructions need the OS to enable the AVX-512 state, which the run-time
// library's check includes. The file is compiled for AVX-512F/BW/DQ/VL + VNNI (the kernel
// headers' AVX-512 code needs BW): every AVX512-VNNI CPU has them all.
bool cpu_runs_avx512_vnni_vl() {
  static const bool usable = cpu_runs_avx2_fma() && __builtin_cpu_supports("avx512vnni") &&
                             __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512bw") &&
                             __builtin_cpu_supports("avx512dq");
  return usable;
}

}  // namespace edgeattn::x86
