#!/usr/bin/env bash
# Checks that Debian's XNNPACK (the projection baseline of edgeattn_bench) initialises and
# computes under qemu-user for the boards: arm64 under Cortex-A53, A72 and A76, armhf.
# libxnnpack0 is not Multi-Arch: same (installing libxnnpack-dev:arm64 would remove the amd64
# one), so the target's packages are downloaded and unpacked into a cache folder instead:
# ${EDGEATTN_CACHE:-/var/cache/edgeattn}/xnnpack-<arch>. Needs install-cross-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${EDGEATTN_CACHE:-/var/cache/edgeattn}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() {  # arch triplet compiler qemu cpus...
  local arch=$1 triplet=$2 cxx=$3 qemu=$4
  shift 4
  local root=$cache/xnnpack-$arch
  if [ ! -f "$root/usr/include/xnnpack.h" ]; then
    mkdir -p "$root/debs"
    (cd "$root/debs" && apt-get download -qq libxnnpack0:"$arch" libxnnpack-dev:"$arch" \
      libpthreadpool0:"$arch" libpthreadpool-dev:"$arch" libcpuinfo0:"$arch")
    for deb in "$root"/debs/*.deb; do dpkg -x "$deb" "$root"; done
  fi
  local lib=$root/usr/lib/$triplet
  "$cxx" -O2 -I"$root/usr/include" tests/xnnpack_qemu_smoke.cpp -L"$lib" -lXNNPACK -lpthreadpool \
    -Wl,-rpath-link,"$lib" -o "$work/smoke-$arch"
  local loader=/usr/$triplet
  [ -f "/lib/$triplet/libc.so.6" ] && loader=/  # as toolchains/debian-multiarch.cmake does
  for cpu in "$@"; do
    printf 'check-xnnpack-qemu: %s %s: ' "$arch" "$cpu"
    "$qemu" -L "$loader" -cpu "$cpu" -E LD_LIBRARY_PATH="$lib" "$work/smoke-$arch"
  done
}
check arm64 aarch64-linux-gnu aarch64-linux-gnu-g++ qemu-aarch64 cortex-a53 cortex-a72 cortex-a76
check armhf arm-linux-gnueabihf arm-linux-gnueabihf-g++ qemu-arm cortex-a7 cortex-a15
