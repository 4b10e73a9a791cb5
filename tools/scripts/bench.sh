#!/usr/bin/env bash
# The main job on its embedded default: installs what is missing, builds Release and runs
# `edgeattn bench` on the standard shapes S1–S6. Extra arguments go to `edgeattn bench`.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/scripts/install-deps.sh
cmake --preset native >/dev/null
cmake --build --preset native -j "$(nproc)" --target edgeattn_cli
build/native/tools/cli/edgeattn info
build/native/tools/cli/edgeattn bench "$@"
