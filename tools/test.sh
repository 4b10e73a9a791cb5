#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine: installs what is missing, builds
# the static (Release) and shared configurations, runs every test of the first and the quick
# tests of the second. EDGEATTN_TEST_CASES=N changes the number of random reference cases.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
jobs=$(nproc)

stage() { printf '\n=== %s ===\n' "$*"; }

stage "native (static, Release): build"
cmake --preset native
cmake --build --preset native -j "$jobs"
stage "native: tests"
ctest --preset native

stage "native-shared (shared library): build"
cmake --preset native-shared
cmake --build --preset native-shared -j "$jobs"
stage "native-shared: quick tests"
ctest --preset native-shared

stage "all test stages passed"
