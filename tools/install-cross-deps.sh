#!/usr/bin/env bash
# Installs what cross-compiling for Raspberry Pi needs, from Debian bookworm: the arm64 and
# armhf foreign architectures, the cross compilers, qemu-user, and the target's oneTBB and
# xsimd packages (Catch2, CLI11 and nlohmann-json are header-only and used from amd64).
set -euo pipefail
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
packages=(g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
          libtbb-dev:arm64 libxsimd-dev:arm64 libtbb-dev:armhf libxsimd-dev:armhf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-cross-deps: all packages present"
  exit 0
fi
for arch in arm64 armhf; do
  dpkg --print-foreign-architectures | grep -qx "$arch" || $sudo dpkg --add-architecture "$arch"
done
# The security archive's armhf index has failed here with "File has unexpected size" while the
# main archive still served everything: tolerate the failure, then check each candidate.
$sudo apt-get update -qq || echo "install-cross-deps: apt-get update reported errors; checking candidates"
for p in "${missing[@]}"; do
  if ! apt-cache policy "$p" | grep -q 'Candidate: [0-9]'; then
    echo "install-cross-deps: no installable candidate for $p" >&2
    exit 1
  fi
done
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
