#!/usr/bin/env bash
# Installs what cross-compiling for Raspberry Pi needs, from Debian bookworm: the arm64 and
# armhf foreign architectures, the cross compilers, qemu-user, and the target's oneTBB and
# xsimd packages, and Google Benchmark and OpenBLAS for the benchmarks (Catch2, CLI11 and
# nlohmann-json are header-only and used from amd64).
# Usage: tools/scripts/install-cross-deps.sh [--dry-run]   (--dry-run: see tools/scripts/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
foreign=$(dpkg --print-foreign-architectures)
for arch in arm64 armhf; do
  grep -qx "$arch" <<<"$foreign" || $sudo dpkg --add-architecture "$arch"
done
exec tools/scripts/install-deps.sh "$@" g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user \
  libtbb-dev:arm64 libxsimd-dev:arm64 libbenchmark-dev:arm64 libopenblas-dev:arm64 \
  libtbb-dev:armhf libxsimd-dev:armhf libbenchmark-dev:armhf libopenblas-dev:armhf
