// The arm-neon64-fp16dot port's CPU check: the kernel's hardware capabilities (AT_HWCAP), as
// the x86 ports read CPUID. Compiled without the port's flags (PLAIN_SOURCES): runs on any
// AArch64 CPU.
#include "cpu.hpp"

#if defined(__linux__)
#include <sys/auxv.h>  // getauxval, and glibc's HWCAP_* bits (bits/hwcap.h)
#endif
#if !defined(HWCAP_ASIMDHP)  // elsewhere: Linux's values, for the rule's own tests
#define HWCAP_ASIMDHP (1 << 10)
#define HWCAP_ASIMDDP (1 << 20)
#endif

namespace edgeattn::arm64 {

bool fp16dot_usable(unsigned long hwcap) {
  return (hwcap & HWCAP_ASIMDHP) != 0 && (hwcap & HWCAP_ASIMDDP) != 0;  // fp16 arithmetic; sdot
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
