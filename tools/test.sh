#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine: installs what is missing, then
# builds and tests each configuration in turn — native static (every test), shared library,
# serial executor, -fno-exceptions/-fno-rtti library, ASan+UBSan with the checked arena, and
# ThreadSanitizer on the concurrency tests, and the libFuzzer targets for a bounded time.
# EDGEATTN_TEST_CASES=N changes the number of random reference cases of the native stage;
# EDGEATTN_FUZZ_SECONDS=N the time of each fuzz target (default 25). The last stages
# cross-build for Raspberry Pi and run the suite of both ARM ports under qemu-user; they add
# the arm64 and armhf architectures to apt. EDGEATTN_SKIP_CROSS=1 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh clang libclang-rt-14-dev
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

stage "serial executor (no oneTBB): build and quick tests"
cmake --preset serial
cmake --build --preset serial -j "$jobs"
ctest --preset serial

stage "library with -fno-exceptions -fno-rtti: build and tests"
cmake --preset noexcept
cmake --build --preset noexcept -j "$jobs"
ctest --preset noexcept

stage "AddressSanitizer + UndefinedBehaviorSanitizer, checked arena (60 random cases)"
cmake --preset asan
cmake --build --preset asan -j "$jobs"
ctest --preset asan

stage "ThreadSanitizer on the concurrency tests (serial executor, std::thread)"
cmake --preset tsan
cmake --build --preset tsan -j "$jobs"
ctest --preset tsan

stage "libFuzzer targets (clang, ASan + UBSan), ${EDGEATTN_FUZZ_SECONDS:-25} s each"
cmake --preset fuzz -DEDGEATTN_FUZZ_SECONDS="${EDGEATTN_FUZZ_SECONDS:-25}"
cmake --build --preset fuzz -j "$jobs"
ctest --preset fuzz
grep -h -E "^[0-9]+/[0-9]+ Test: fuzz|stat::number_of_executed_units|stat::new_units_added" \
  build/fuzz/Testing/Temporary/LastTest.log || true

if [ "${EDGEATTN_SKIP_CROSS:-0}" = 1 ]; then
  stage "cross builds skipped (EDGEATTN_SKIP_CROSS=1)"
else
  stage "cross: Raspberry Pi toolchains (adds the arm64 and armhf architectures to apt)"
  tools/install-cross-deps.sh
  for preset in rpi4 rpi-armhf; do
    stage "cross: $preset build, then the whole suite under qemu-user (24 random cases)"
    cmake --preset "$preset"
    cmake --build --preset "$preset" -j "$jobs"
    ctest --preset "$preset"
  done
  for preset in rpi3 rpi5; do
    stage "cross: $preset build (library and CLI)"
    cmake --preset "$preset"
    cmake --build --preset "$preset" -j "$jobs" --target edgeattn_cli
  done
fi

stage "all test stages passed"
