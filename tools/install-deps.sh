#!/usr/bin/env bash
# Installs, from Debian bookworm's packages, whatever the build needs and is missing.
# Usage: tools/install-deps.sh [extra packages...]   (as root, or with sudo available)
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config libxsimd-dev libtbb-dev catch2 libcli11-dev
          nlohmann-json3-dev libbenchmark-dev libopenblas-dev
          libbenchmark-tools python3-scipy python3-numpy valgrind "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# An index can fail to update (the security archive's armhf index has, "File has unexpected
# size") while the main archive still serves everything: go on, and check each candidate.
$sudo apt-get update -qq || echo "install-deps: apt-get update reported errors; checking candidates"
for p in "${missing[@]}"; do
  if ! apt-cache policy "$p" | grep -q 'Candidate: [0-9]'; then
    echo "install-deps: no installable candidate for $p" >&2
    exit 1
  fi
done
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
