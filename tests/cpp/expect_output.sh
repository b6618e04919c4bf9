#!/bin/sh
# expect_output.sh EXPECTED PROGRAM [ARGS...]: PROGRAM exits with 0 and its
# standard output is exactly EXPECTED (a printf format: \n for new lines).
expected=$(printf "$1")
shift
out=$("$@") || { echo "$1 failed" >&2; exit 1; }
[ "$out" = "$expected" ] || { printf 'expected:\n%s\ngot:\n%s\n' "$expected" "$out" >&2; exit 1; }
