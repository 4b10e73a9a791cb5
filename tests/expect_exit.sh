#!/bin/sh
# Usage: expect_exit.sh CODE [--output REGEX] COMMAND [ARGS...]: runs the command, succeeds iff
# it exits with CODE (and, with --output, its standard output has a line matching REGEX).
want=$1
shift
pattern=""
if [ "$1" = "--output" ]; then
  pattern=$2
  shift 2
fi
out=$(mktemp)
"$@" >"$out"
got=$?
cat "$out"
if [ "$got" -ne "$want" ]; then
  echo "expect_exit: '$*' exited with $got, expected $want" >&2
  rm -f "$out"
  exit 1
fi
if [ -n "$pattern" ] && ! grep -Eq "$pattern" "$out"; then
  echo "expect_exit: no line of the output matches '$pattern'" >&2
  rm -f "$out"
  exit 1
fi
rm -f "$out"
