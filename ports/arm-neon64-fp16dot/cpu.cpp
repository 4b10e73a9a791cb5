// The arm-neon64-fp16dot port's CPU check: the kernel's hardware capabilities (AT_HWCAP), as
// the x86 ports read CPUID. Compiled without the port's flags (PLAIN_SOURCES): runs on any
// AArch64 CPU.
#include "cpu.hpp"

#if defined(__linux__)
#include <sys/auxv.h>
#endif

namespace edgeattn::arm64 {

namespace {
// Linux's arch/arm64/include/uapi/asm/hwcap.h (glibc's bits/hwcap.h spells them HWCAP_*).
constexpr unsigned long kHwcapAsimdHp = 1UL << 10;  // fp16 Advanced SIMD arithmetic
constexpr unsigned long kHwcapAsimdDp = 1UL << 20;  // sdot / udot
}  // namespace

bool fp16dot_usable(unsigned long hwcap) {
  return (hwcap & kHwcapAsimdHp) != 0 && (hwcap & kHwcapAsimdDp) != 0;
}

unsigned long read_hwcap() {
#if defined(__linux__)
  return getauxval(AT_HWCAP);
#else
  return 0;  // unknown: the ARMv8.0 port
#endif
}

// Read once: the capabilities of a process do not change.
bool cpu_runs_fp16dot() {
  static const bool usable = fp16dot_usable(read_hwcap());
  return usable;
}

}  // namespace edgeattn::arm64
