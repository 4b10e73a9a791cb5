# Cross-compiling for 32-bit ARM Linux with NEON (Raspberry Pi OS 32-bit on Pi 2/3/4) with
# Debian's g++-arm-linux-gnueabihf and multiarch packages (libtbb-dev:armhf,
# libxsimd-dev:armhf). Debian's armhf compiler defaults to no NEON: ARMv7-A with NEON-VFPv4
# and the hard-float ABI are set here for the whole program.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(EDGEATTN_TRIPLET arm-linux-gnueabihf)
set(EDGEATTN_QEMU qemu-arm)
set(EDGEATTN_ARCH_FLAGS "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
