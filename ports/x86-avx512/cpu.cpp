// Reads CPUID and XCR0 for the x86-avx512 port's check. Compiled with the build's baseline
// flags (PLAIN_SOURCES in port.cmake): this runs on every x86-64 CPU, AVX-512 or not.
#include <cpuid.h>

#include "cpu_features.hpp"

namespace edgeattn::x86 {

CpuidBits read_cpuid_bits() {
  CpuidBits bits;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) bits.leaf1_ecx = ecx;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    bits.leaf7_ebx = ebx;
    bits.leaf7_ecx = ecx;
  }
  if (bits.leaf1_ecx & kOsxsave) {  // XGETBV faults unless the OS set CR4.OSXSAVE
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    bits.xcr0 = (static_cast<std::uint64_t>(hi) << 32) | lo;
  }
  return bits;
}

bool cpu_runs_avx512() { return avx512_usable(read_cpuid_bits()); }
// Asked each time a plan is made: read once (CPUID traps to the hypervisor in a virtual machine,
// microseconds per call).
bool cpu_runs_avx512_vnni() {
  static const bool usable = avx512_vnni_usable(read_cpuid_bits());
  return usable;
}

}  // namespace edgeattn::x86
