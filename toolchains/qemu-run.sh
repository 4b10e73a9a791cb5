#!/bin/sh
# Runs a cross-built test binary under qemu-user: qemu-run.sh <default cpu> <qemu> [args...].
# The emulated CPU is $QEMU_CPU when set (qemu-user reads it), else the build's core, so one
# build's tests run under several CPUs: QEMU_CPU=cortex-a76 ctest --preset rpi3.
default_cpu=$1
shift
QEMU_CPU=${QEMU_CPU:-$default_cpu}
export QEMU_CPU
exec "$@"
