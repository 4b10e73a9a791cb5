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

}  // namespace edgeattn::x86
