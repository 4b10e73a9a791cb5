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

set(EDGEATTN_CPU "" CACHE STRING "Target core for -mcpu / qemu -cpu (e.g. cortex-a72)")
set(_flags "${EDGEATTN_ARCH_FLAGS}")
if(EDGEATTN_CPU)
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
find_program(EDGEATTN_QEMU_PATH ${EDGEATTN_QEMU})
if(EDGEATTN_QEMU_PATH)
  set(_emu ${EDGEATTN_QEMU_PATH} -L ${_root})
  if(EDGEATTN_CPU)
    list(APPEND _emu -cpu ${EDGEATTN_CPU})
  elseif(EDGEATTN_QEMU STREQUAL "qemu-arm")
    list(APPEND _emu -cpu cortex-a7)
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${_emu})
endif()
