#!/usr/bin/env bash
# The shared library's dynamic symbols against the committed list of the public API's.
# Usage: check_exports.sh <libedgeattn.so> <expected.symbols>
# After a deliberate API change (a native-shared build):
#   nm -D --defined-only <lib> | awk '{print $3}' | sed 's/@.*//' | grep -v '^EDGEATTN_0$' \
#     | sort -u > tests/abi/x86_64.symbols
set -euo pipefail
lib=$1
expected=$2
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^EDGEATTN_0$' | sort -u)
if ! diff_out=$(diff <(sort -u "$expected") <(printf '%s\n' "$actual")); then
  echo "check_exports: $lib exports differ from $expected (< expected only, > exported only):"
  printf '%s\n' "$diff_out"
  exit 1
fi
echo "check_exports: $(printf '%s\n' "$actual" | wc -l) symbols, as committed"
