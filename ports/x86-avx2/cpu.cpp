// The x86-avx2 port's CPU check, compiled with the build's baseline flags (PLAIN_SOURCES in
// port.cmake): it runs before a port is chosen, on any x86-64, so it must not be compiled with
// -mavx2 (the compiler may use VEX encodings anywhere in such a file).
namespace edgeattn::x86 {

bool cpu_runs_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

}  // namespace edgeattn::x86
