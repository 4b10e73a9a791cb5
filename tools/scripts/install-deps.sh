#!/usr/bin/env bash
# Installs, from Debian bookworm's packages, whatever the build needs and is missing.
# Usage: tools/scripts/install-deps.sh [--dry-run] [extra packages...]   (as root, or with sudo)
# --dry-run resolves the missing packages (apt-get install --dry-run) without installing them.
#
# Outputs are captured before grep reads them: under pipefail, a pipeline into a quiet grep
# fails when grep exits at its first match and the writer dies of SIGPIPE.
set -euo pipefail
dry_run=0
if [ "${1:-}" = "--dry-run" ]; then
  dry_run=1
  shift
fi
packages=(cmake ninja-build g++ pkg-config libxsimd-dev libtbb-dev catch2 libcli11-dev
          nlohmann-json3-dev libbenchmark-dev libopenblas-dev
          libbenchmark-tools python3-scipy python3-numpy valgrind libxnnpack-dev
          libpthreadpool-dev python3-matplotlib "$@")
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: $([ $dry_run = 1 ] && echo 'would install' || echo installing) ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# An index can fail to update (the security archive's armhf index has, "File has unexpected
# size") while the main archive still serves everything: go on, and check each candidate.
$sudo apt-get update -qq || echo "install-deps: apt-get update reported errors; checking candidates"
for p in "${missing[@]}"; do
  policy=$(apt-cache policy "$p")
  if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
    echo "install-deps: no installable candidate for $p" >&2
    exit 1
  fi
done
if [ $dry_run = 1 ]; then
  $sudo apt-get install --dry-run -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "install-deps: dry run resolved ${#missing[@]} packages"
else
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
