#!/usr/bin/env bash
# The whole test suite, from a fresh Debian bookworm machine: installs what is missing, then
# builds and tests each configuration in turn — native static (every test), shared library,
# serial executor, -fno-exceptions/-fno-rtti library, ASan+UBSan with the checked arena, and
# ThreadSanitizer on the concurrency tests, and the libFuzzer targets for a bounded time. The
# native stage includes the callgrind instruction-count gate (bench/icounts/); a deliberately
# slowed build then proves that the gate catches a slowdown.
# EDGEATTN_TEST_CASES=N changes the number of random reference cases of the native stage;
# EDGEATTN_FUZZ_SECONDS=N the time of each fuzz target (default 25). The last stages
# cross-build for Raspberry Pi and run the suites of the ARM ports under qemu-user (the rpi3
# aarch64 build under the Cortex-A53, A72 and A76; the armhf build) and the ARM cycle-model gate
# of the rpi3, rpi4 and rpi5 builds; they add the arm64 and armhf architectures to apt.
# EDGEATTN_SKIP_CROSS=1 skips them.
# EDGEATTN_TEST_SCOPE=quick is the smaller scope (CI's fresh-root stage uses it): the native
# preset's build and its `quick` tests only (test preset `quick`), no sanitizers, no fuzzing,
# no instruction-count gate; the cross stages still follow EDGEATTN_SKIP_CROSS.
# Each stage's elapsed time is printed when it ends, and all of them at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
scope=${EDGEATTN_TEST_SCOPE:-full}
case "$scope" in
  full) tools/scripts/install-deps.sh clang libclang-rt-14-dev clang-format-14 ;;  # fuzz, format
  quick) tools/scripts/install-deps.sh ;;
  *) echo "test.sh: EDGEATTN_TEST_SCOPE must be full or quick, got '$scope'" >&2; exit 2 ;;
esac
jobs=$(nproc)

timings=()
stage_name=""
stage_start=0
# Ends the running stage (printing its time) and starts the next one.
stage() {
  local now
  now=$(date +%s)
  if [ -n "$stage_name" ]; then
    printf '=== %s: %d s ===\n' "$stage_name" $((now - stage_start))
    timings+=("$(printf '%6d s  %s' $((now - stage_start)) "$stage_name")")
  fi
  stage_name=$*
  stage_start=$now
  [ -n "$stage_name" ] && printf '\n=== %s ===\n' "$stage_name"
  return 0
}
summary() {
  stage ""
  printf '\nstage times (EDGEATTN_TEST_SCOPE=%s):\n' "$scope"
  printf '%s\n' "${timings[@]}"
}
# Configure, build and test one preset (extra arguments go to the configure step).
preset() {
  local name=$1
  shift
  cmake --preset "$name" "$@"
  cmake --build --preset "$name" -j "$jobs"
  ctest --preset "$name"
}

if [ "$scope" = quick ]; then
  stage "native (static, Release): build and the quick tests"
  cmake --preset native
  cmake --build --preset native -j "$jobs"
  ctest --preset quick
else
export EDGEATTN_ICOUNT_REQUIRED=1  # the instruction-count gate must run here, not be skipped

stage "format: every C and C++ source follows .clang-format"
tools/scripts/check-format.sh

stage "native (static, Release, with the emulated-avx512 test port): every test, the icount gate"
# emulated-avx512 runs x86-avx512's tiles on 16 plain-float lanes, so every test that covers
# every port checks that port's geometry and tails here even on a CPU without AVX-512.
preset native -DEDGEATTN_EMULATED_AVX512=ON

stage "the regression checks catch a deliberately slowed build (EDGEATTN_TEST_SLOWDOWN)"
cmake --preset slowdown
cmake --build --preset slowdown -j "$jobs"
if grep -qw avx2 /proc/cpuinfo; then
  # The slowed build halves the x86-avx2 register tiles' rows: the kernel names say so (2x24),
  # and the cases whose names do not change (the attention tile, the end-to-end runs) must each
  # get the verdict "regression"; a missing count or a crash is not that verdict.
  /usr/bin/python3 tools/scripts/icount_gate.py --driver build/slowdown/bench/edgeattn_icount \
    --filter 'x86.avx2' \
    --expect-regression 'f32_attend_.*x86_avx2|(mha|attention)/edgeattn/.*/port:x86-avx2'
else
  echo "test.sh: this CPU has no AVX2; the slowed x86-avx2 port cannot run here"
fi

stage "native-shared (shared library): build and quick tests"
preset native-shared

stage "serial executor (no oneTBB): build and quick tests"
preset serial

stage "library with -fno-exceptions -fno-rtti: build and tests"
preset noexcept

stage "AddressSanitizer + UndefinedBehaviorSanitizer, checked arena (60 random cases)"
preset asan

stage "ThreadSanitizer on the concurrency tests (serial executor, std::thread)"
preset tsan

stage "libFuzzer targets (clang, ASan + UBSan), ${EDGEATTN_FUZZ_SECONDS:-25} s each"
preset fuzz -DEDGEATTN_FUZZ_SECONDS="${EDGEATTN_FUZZ_SECONDS:-25}"
grep -h -E "^[0-9]+/[0-9]+ Test: fuzz|stat::number_of_executed_units|stat::new_units_added" \
  build/fuzz/Testing/Temporary/LastTest.log || true
fi  # scope full

if [ "${EDGEATTN_SKIP_CROSS:-0}" = 1 ]; then
  stage "cross builds skipped (EDGEATTN_SKIP_CROSS=1)"
else
  stage "cross: Raspberry Pi toolchains (adds the arm64 and armhf architectures to apt)"
  tools/scripts/install-cross-deps.sh
  stage "cross: XNNPACK (the projection baseline) initialises and computes under qemu-user"
  tools/scripts/check-xnnpack-qemu.sh
  # The rpi3 build is the one aarch64 binary for Pi 3, 4 and 5 (ARMv8.0 code tuned for the A53,
  # plus the ARMv8.2 port chosen at run time): its tests run under three emulated CPUs, each
  # told which port the automatic choice must give (EDGEATTN_EXPECT_PORT). Under the A53 an
  # fp16 or dot-product instruction would stop the test with SIGILL.
  stage "cross: rpi3 build; its cycle model (bench/models/rpi3.json)"
  cmake --preset rpi3
  cmake --build --preset rpi3 -j "$jobs"
  ctest --preset rpi3 -L model
  stage "cross: rpi3 build, quick tests and port selection under qemu -cpu cortex-a53"
  QEMU_CPU=cortex-a53 EDGEATTN_EXPECT_PORT=arm-neon64 ctest --preset rpi3 -L quick
  stage "cross: rpi3 build, the whole suite under qemu -cpu cortex-a72 (24 random cases)"
  QEMU_CPU=cortex-a72 EDGEATTN_EXPECT_PORT=arm-neon64 ctest --preset rpi3 -LE model
  stage "cross: rpi3 build, the whole suite under qemu -cpu cortex-a76 (24 random cases)"
  QEMU_CPU=cortex-a76 EDGEATTN_EXPECT_PORT=arm-neon64-fp16dot ctest --preset rpi3 -LE model
  stage "cross: rpi-armhf build, then the whole suite under qemu-user (24 random cases)"
  preset rpi-armhf
  # The builds tuned for one board: library and CLI, and the cycle model of the port each
  # board runs (bench/models/rpi4.json, rpi5.json).
  for board in rpi4 rpi5; do
    stage "cross: $board build (library and CLI), its cycle model"
    cmake --preset "$board"
    cmake --build --preset "$board" -j "$jobs" --target edgeattn_cli
    ctest --preset "$board" -L model
  done
fi

summary
echo "test.sh: all test stages passed"
