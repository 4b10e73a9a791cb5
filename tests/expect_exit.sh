#!/bin/sh
# Usage: expect_exit.sh CODE COMMAND [ARGS...]: runs the command, succeeds iff it exits with CODE.
want=$1
shift
"$@"
got=$?
if [ "$got" -ne "$want" ]; then
  echo "expect_exit: '$*' exited with $got, expected $want" >&2
  exit 1
fi
