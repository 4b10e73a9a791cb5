# Cross-compiling for 64-bit ARM Linux (Raspberry Pi 3/4/5, Zero 2 W on a 64-bit OS) with
# Debian's g++-aarch64-linux-gnu and multiarch packages (libtbb-dev:arm64, libxsimd-dev:arm64).
# EDGEATTN_CPU picks the board's core (-mcpu), e.g. cortex-a53, cortex-a72, cortex-a76.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EDGEATTN_TRIPLET aarch64-linux-gnu)
set(EDGEATTN_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
