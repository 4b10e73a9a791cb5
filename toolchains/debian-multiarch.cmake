# Shared part of the Debian multiarch cross toolchains: the cross compilers, the target's
# libraries from /usr/lib/<triplet> (no sysroot), and qemu-user as the emulator that runs test
# binaries (catch_discover_tests and ctest use it).
set(CMAKE_C_COMPILER ${EDGEATTN_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${EDGEATTN_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${EDGEATTN_TRIPLET})
# Keep CMake away from the build machine's x86-64 libraries and packages.
set(CMAKE_SYSTEM_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
    /usr/lib/x86_64-linux-gnu/cmake)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${EDGEATTN_TRIPLET}/pkgconfig:/usr/share/pkgconfig)

set(EDGEATTN_CPU "" CACHE STRING "Target core for -mtune / qemu -cpu (e.g. cortex-a72)")
set(_flags "${EDGEATTN_ARCH_FLAGS}")
if(EDGEATTN_CPU AND EDGEATTN_TRIPLET STREQUAL "aarch64-linux-gnu")
  # -march (the core's architecture) and -mtune, not -mcpu: a port's own -march (the ARMv8.2
  # kernels of arm-neon64-fp16dot) then replaces the architecture for its files only, where
  # -mcpu would conflict with it.
  if(EDGEATTN_CPU MATCHES "^cortex-a(55|65|75|76|77|78)$|^neoverse-n1$")
    set(_arch armv8.2-a+fp16+dotprod)
  else()
    set(_arch armv8-a+crc)  # Cortex-A35/A53/A57/A72 (Pi 3, Zero 2 W, Pi 4)
  endif()
  string(APPEND _flags " -march=${_arch} -mtune=${EDGEATTN_CPU}")
elseif(EDGEATTN_CPU)
  string(APPEND _flags " -mcpu=${EDGEATTN_CPU}")
endif()
set(CMAKE_C_FLAGS_INIT "${_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_flags}")

# qemu-user with the target's multiarch libc: `-L /` (the cross toolchain's own loader in
# /usr/<triplet> hangs at the first thread start once libc6:<arch> is installed).
if(EXISTS /lib/${EDGEATTN_TRIPLET}/libc.so.6)
  set(_root /)
else()
  set(_root /usr/${EDGEATTN_TRIPLET})
endif()
# The emulated CPU comes from the environment (QEMU_CPU, which qemu-user reads), defaulting to
# the build's core: one build's tests run under several CPUs (CI runs the rpi3 build under
# cortex-a53, cortex-a72 and cortex-a76; toolchains/qemu-run.sh).
find_program(EDGEATTN_QEMU_PATH ${EDGEATTN_QEMU})
if(EDGEATTN_QEMU_PATH)
  if(EDGEATTN_CPU)
    set(_cpu ${EDGEATTN_CPU})
  elseif(EDGEATTN_QEMU STREQUAL "qemu-arm")
    set(_cpu cortex-a7)
  else()
    set(_cpu max)
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR /bin/sh ${CMAKE_CURRENT_LIST_DIR}/qemu-run.sh ${_cpu}
      ${EDGEATTN_QEMU_PATH} -L ${_root})
endif()
