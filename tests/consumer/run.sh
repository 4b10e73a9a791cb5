#!/usr/bin/env bash
# Installs the build tree into a scratch prefix and builds a consumer three ways: the CMake
# package, pkg-config (a C program), and add_subdirectory of the source tree.
set -euo pipefail
build_dir=$1 source_dir=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
here=$(cd "$(dirname "$0")" && pwd)

cmake -S "$here" -B "$work/pkg" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/pkg" >/dev/null
"$work/pkg/consumer"

libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -n1)
cat > "$work/c_consumer.c" <<'C'
#include <stdio.h>
#include <edgeattn/edgeattn.h>
int main(void) { printf("pkg-config consumer OK with edgeattn %s\n", edgeattn_version()); return 0; }
C
# shellcheck disable=SC2046
cc "$work/c_consumer.c" -o "$work/c_consumer" $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs --static edgeattn)
LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/c_consumer"

cmake -S "$here" -B "$work/sub" -G Ninja -DEDGEATTN_SOURCE_DIR="$source_dir" >/dev/null
cmake --build "$work/sub" >/dev/null
"$work/sub/consumer"
