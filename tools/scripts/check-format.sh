#!/usr/bin/env bash
# Checks that every C and C++ source follows .clang-format (clang-format-14, Debian's).
# Usage: tools/scripts/check-format.sh [--fix]   (--fix rewrites the files in place)
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | grep -v '^tests/data/')
if [ "${1:-}" = "--fix" ]; then
  clang-format-14 -i "${files[@]}"
  echo "check-format: ${#files[@]} files formatted"
  exit 0
fi
clang-format-14 --dry-run -Werror "${files[@]}"
echo "check-format: ${#files[@]} files follow .clang-format"
