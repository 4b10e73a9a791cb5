// When the x86-avx512 port may run: a pure function of what CPUID and XGETBV report, so that
// the rule is tested with made-up values on any machine (tests/test_port_selection.cpp).
#pragma once

#include <cstdint>

namespace edgeattn::x86 {

struct CpuidBits {
  std::uint32_t leaf1_ecx = 0;  // CPUID.(EAX=1):ECX
  std::uint32_t leaf7_ebx = 0;  // CPUID.(EAX=7, ECX=0):EBX
  std::uint32_t leaf7_ecx = 0;  // CPUID.(EAX=7, ECX=0):ECX
  std::uint64_t xcr0 = 0;       // XGETBV(0), read only where leaf1_ecx has OSXSAVE
};

constexpr std::uint32_t kFma = 1u << 12, kOsxsave = 1u << 27, kAvx = 1u << 28;  // leaf 1 ECX
constexpr std::uint32_t kAvx2 = 1u << 5, kAvx512F = 1u << 16, kAvx512DQ = 1u << 17,
                        kAvx512BW = 1u << 30, kAvx512VL = 1u << 31;  // leaf 7 EBX
// XCR0: the OS saves and restores x87/SSE (bit 1), AVX's upper halves (2), the opmask registers
// (5), the upper halves of zmm0–15 (6) and zmm16–31 (7). A CPU with AVX-512 under an OS (or a
// hypervisor) that does not enable all three AVX-512 states faults on the first zmm instruction.
constexpr std::uint64_t kXcr0Avx512State =
    (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7);

// AVX-512F/BW/DQ/VL (with AVX2 and FMA, which every such CPU has and the port's code may use),
// and every register state enabled by the OS.
constexpr bool avx512_usable(const CpuidBits& c) {
  constexpr std::uint32_t leaf7 = kAvx2 | kAvx512F | kAvx512DQ | kAvx512BW | kAvx512VL;
  return (c.leaf1_ecx & (kFma | kOsxsave | kAvx)) == (kFma | kOsxsave | kAvx) &&
         (c.leaf7_ebx & leaf7) == leaf7 && (c.xcr0 & kXcr0Avx512State) == kXcr0Avx512State;
}

constexpr std::uint32_t kAvx512Vnni = 1u << 11;  // leaf 7 ECX
// The port's int8 kernel with vpdpbusd: AVX512-VNNI on top of the port's requirements.
constexpr bool avx512_vnni_usable(const CpuidBits& c) {
  return avx512_usable(c) && (c.leaf7_ecx & kAvx512Vnni) != 0;
}

// This CPU's bits, and the port's cpu_supports (cpu.cpp, compiled without any ISA flag: they
// run before a port is chosen, on any x86-64).
CpuidBits read_cpuid_bits();
bool cpu_runs_avx512();
bool cpu_runs_avx512_vnni();

}  // namespace edgeattn::x86
