// Which port runs: the automatic choice is the best port the CPU supports; a port the CPU lacks
// is refused with its name when asked for; EDGEATTN_EXPECT_PORT (set by CI for each emulated
// CPU) names the port the automatic choice must be; on AArch64 the arm-neon64-fp16dot rule
// (HWCAP bits) against /proc/cpuinfo's features; and on x86-64 the x86-avx512 rule (CPUID bits and
// the OS's XCR0 register state), checked on made-up values and against what the kernel reports
// in /proc/cpuinfo (Linux clears the avx512 flags there when it does not enable their state).
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "edgeattn/edgeattn.hpp"
#include "test_util.hpp"
#if defined(__x86_64__)
#include "../ports/x86-avx512/cpu_features.hpp"
#endif
#if defined(__aarch64__)
#include <sys/auxv.h>  // HWCAP_* (glibc's bits/hwcap.h)

#include "../ports/arm-neon64-fp16dot/cpu.hpp"
#endif

using namespace edgeattn;

namespace {
// The words of /proc/cpuinfo's first line starting with `key`: "flags" on x86-64, "Features" on
// AArch64. Empty without /proc/cpuinfo or such a line.
[[maybe_unused]] std::set<std::string> proc_cpuinfo_words(const char* key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::set<std::string> out;
    for (std::string w; words >> w;) out.insert(w);
    return out;
  }
  return {};
}
}  // namespace

TEST_CASE("the automatic port is the best one this CPU supports", "[ports][quick]") {
  PortInfo chosen{};
  REQUIRE(select_port(nullptr, &chosen));
  const char* best = nullptr;
  for (int i = 0; i < port_count() && !best; ++i)
    if (port_info(i).cpu_supported) best = port_info(i).name;
  REQUIRE(best != nullptr);
  if (std::getenv("EDGEATTN_PORT") == nullptr) CHECK(std::string(chosen.name) == best);
  REQUIRE(std::string(port_info(port_count() - 1).name) == "generic");
  REQUIRE(port_info(port_count() - 1).cpu_supported);
}

// CI runs one aarch64 build under several emulated CPUs (QEMU_CPU) and says which port each must
// get: arm-neon64 on the Cortex-A53 and A72 (ARMv8.0: no fp16 arithmetic, no dot products),
// arm-neon64-fp16dot on the A76. Without the variable there is nothing to compare with.
TEST_CASE("the automatic port is the one CI expects for the emulated CPU", "[ports][quick]") {
  const char* expected = std::getenv("EDGEATTN_EXPECT_PORT");
  if (!expected || !*expected || std::getenv("EDGEATTN_PORT")) return;
  PortInfo chosen{};
  REQUIRE(select_port(nullptr, &chosen));
  INFO("QEMU_CPU=" << (std::getenv("QEMU_CPU") ? std::getenv("QEMU_CPU") : "(unset)"));
  REQUIRE(std::string(chosen.name) == expected);
}

TEST_CASE("a port the CPU cannot run is refused by name, never run", "[ports][quick]") {
  const test::Case c = test::make_case(test::CaseConfig{}, 5);
  for (int i = 0; i < port_count(); ++i) {
    const PortInfo info = port_info(i);
    LayerSpec spec = c.spec();
    spec.port = info.name;
    std::unique_ptr<Layer> layer;
    const Status st = Layer::create(spec, &layer);
    INFO("port " << info.name << ": " << st.message());
    if (info.cpu_supported) {
      REQUIRE(st);
      REQUIRE(std::string(layer->port()) == info.name);
    } else {
      REQUIRE(st.code() == StatusCode::unsupported);
      REQUIRE(std::strstr(st.message(), info.name) != nullptr);
      REQUIRE(layer == nullptr);
    }
  }
}

#if defined(__x86_64__)
namespace {
x86::CpuidBits avx512_machine() {
  x86::CpuidBits b;
  b.leaf1_ecx = x86::kFma | x86::kOsxsave | x86::kAvx;
  b.leaf7_ebx = x86::kAvx2 | x86::kAvx512F | x86::kAvx512DQ | x86::kAvx512BW | x86::kAvx512VL;
  b.xcr0 = 0xe7;  // x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  return b;
}

}  // namespace

TEST_CASE("x86-avx512 needs AVX-512F/BW/DQ/VL and the OS's zmm and opmask state",
          "[ports][quick]") {
  REQUIRE(x86::avx512_usable(avx512_machine()));
  for (std::uint32_t bit :
       {x86::kAvx2, x86::kAvx512F, x86::kAvx512DQ, x86::kAvx512BW, x86::kAvx512VL}) {
    x86::CpuidBits b = avx512_machine();
    b.leaf7_ebx &= ~bit;
    INFO("leaf 7 EBX without bit " << bit);
    REQUIRE_FALSE(x86::avx512_usable(b));
  }
  for (std::uint32_t bit : {x86::kFma, x86::kOsxsave, x86::kAvx}) {
    x86::CpuidBits b = avx512_machine();
    b.leaf1_ecx &= ~bit;
    INFO("leaf 1 ECX without bit " << bit);
    REQUIRE_FALSE(x86::avx512_usable(b));
  }
  for (int state : {1, 2, 5, 6, 7}) {  // e.g. a hypervisor that hides the upper zmm registers
    x86::CpuidBits b = avx512_machine();
    b.xcr0 &= ~(std::uint64_t{1} << state);
    INFO("XCR0 without state " << state);
    REQUIRE_FALSE(x86::avx512_usable(b));
  }
  x86::CpuidBits avx2_only = avx512_machine();  // a Zen 3: AVX2 and FMA, no AVX-512
  avx2_only.leaf7_ebx = x86::kAvx2;
  avx2_only.xcr0 = 0x7;
  REQUIRE_FALSE(x86::avx512_usable(avx2_only));
}

TEST_CASE("this CPU: x86-avx512 is supported exactly when Linux reports AVX-512F/BW/DQ/VL",
          "[ports][quick]") {
  const std::set<std::string> flags = proc_cpuinfo_words("flags");
  if (flags.empty()) return;  // no /proc/cpuinfo (not Linux): nothing to compare with
  const bool linux_says = flags.count("avx512f") && flags.count("avx512bw") &&
                          flags.count("avx512dq") && flags.count("avx512vl");
  bool built = false;
  for (int i = 0; i < port_count(); ++i) {
    const PortInfo info = port_info(i);
    if (std::string(info.name) != "x86-avx512") continue;
    built = true;
    INFO("/proc/cpuinfo " << (linux_says ? "has" : "lacks") << " avx512f/bw/dq/vl");
    REQUIRE(info.cpu_supported == linux_says);
    REQUIRE(x86::avx512_usable(x86::read_cpuid_bits()) == linux_says);
    PortInfo chosen{};
    if (linux_says && std::getenv("EDGEATTN_PORT") == nullptr) {
      REQUIRE(select_port(nullptr, &chosen));
      REQUIRE(std::string(chosen.name) == "x86-avx512");
    }
  }
  REQUIRE(built);
}
#endif

#if defined(__aarch64__)
TEST_CASE("arm-neon64-fp16dot needs fp16 arithmetic and dot products (HWCAP asimdhp, asimddp)",
          "[ports][quick]") {
  constexpr unsigned long kAsimdHp = HWCAP_ASIMDHP, kAsimdDp = HWCAP_ASIMDDP, kFp = HWCAP_FP,
                          kAsimd = HWCAP_ASIMD;
  REQUIRE(arm64::fp16dot_usable(kFp | kAsimd | kAsimdHp | kAsimdDp));
  REQUIRE_FALSE(arm64::fp16dot_usable(kFp | kAsimd | kAsimdHp));  // e.g. no dot products
  REQUIRE_FALSE(arm64::fp16dot_usable(kFp | kAsimd | kAsimdDp));
  REQUIRE_FALSE(arm64::fp16dot_usable(kFp | kAsimd));  // Cortex-A53, A72
  // This CPU: the port is supported exactly when the kernel's feature list has both.
  const bool hwcap_says = arm64::fp16dot_usable(arm64::read_hwcap());
  bool built = false;
  for (int i = 0; i < port_count(); ++i) {
    const PortInfo info = port_info(i);
    if (std::string(info.name) != "arm-neon64-fp16dot") continue;
    built = true;
    REQUIRE(info.cpu_supported == hwcap_says);
    PortInfo chosen{};
    REQUIRE(select_port(nullptr, &chosen));
    if (std::getenv("EDGEATTN_PORT") == nullptr)
      REQUIRE(std::string(chosen.name) == (hwcap_says ? "arm-neon64-fp16dot" : "arm-neon64"));
  }
  REQUIRE(built);
  const std::set<std::string> features = proc_cpuinfo_words("Features");
  if (!features.empty()) {  // qemu-user shows the host's /proc/cpuinfo: only a board has one
    const bool listed = features.count("asimdhp") && features.count("asimddp");
    if (features.count("asimd")) CHECK(listed == hwcap_says);
  }
}
#endif
