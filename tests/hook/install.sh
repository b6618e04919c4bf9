#!/usr/bin/env bash
# The installed hook, used the three ways users do: linked with pkg-config
# guv-hook, linked with CMake's guv::hook, and preloaded into a program
# linked with guv alone. Each consumer must show cooperation.
#
# Run by `make test-hook-install`, which sets ROOT, WORK (a scratch directory), MAKE and CC.
set -euo pipefail
: "${ROOT:?}" "${WORK:?}" "${MAKE:=make}" "${CC:=cc}"

here=$ROOT/tests/hook
fail() { echo "test-hook-install: FAIL: $*" >&2; exit 1; }
step() { echo "test-hook-install: $*"; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

rm -rf "$WORK"
mkdir -p "$WORK"
prefix=$WORK/prefix
"$MAKE" --no-print-directory -s -C "$ROOT" install PREFIX="$prefix" >/dev/null

step "installed: libguv_hook.so.<version>, its links, guv-hook.pc, guvHookTargets.cmake"
real=$(readlink -f "$prefix/lib/libguv_hook.so")
[ -f "$real" ] && [ "$(dirname "$real")" = "$(readlink -f "$prefix/lib")" ] || fail "libguv_hook.so does not resolve into lib/"
[ -f "$prefix/lib/pkgconfig/guv-hook.pc" ] || fail "guv-hook.pc not installed"
[ -f "$prefix/lib/cmake/guv/guvHookTargets.cmake" ] || fail "guvHookTargets.cmake not installed"
needed "$real" | grep -qx 'libguv.so.[0-9]*' || fail "libguv_hook.so does not depend on libguv's soname: $(needed "$real")"

step "pkg-config guv-hook: linked at build time"
pc() { PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH= pkg-config "$@"; }
# shellcheck disable=SC2046 # pkg-config output is meant to be word-split
"$CC" -Wall -Wextra -Werror -o "$WORK/consumer_pc" "$here/consumer.c" $(pc --cflags --libs guv-hook) \
    -Wl,--as-needed -Wl,-rpath,"$prefix/lib"
needed "$WORK/consumer_pc" | grep -q libguv_hook || fail "the pkg-config consumer does not link libguv_hook"
"$WORK/consumer_pc" || fail "the pkg-config consumer's sleeps did not overlap"

step "CMake guv::hook"
cmake -S "$here/cmake" -B "$WORK/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" >/dev/null
cmake --build "$WORK/cmake" >/dev/null
"$WORK/cmake/consumer" || fail "the CMake consumer's sleeps did not overlap"

step "LD_PRELOAD of the installed hook into a program linked with guv alone"
# shellcheck disable=SC2046
"$CC" -Wall -Wextra -Werror -o "$WORK/consumer_plain" "$here/consumer.c" $(pc --cflags --libs guv) -Wl,-rpath,"$prefix/lib"
if "$WORK/consumer_plain" 10 >/dev/null; then fail "without the hook, usleep should not overlap"; fi
LD_PRELOAD=$prefix/lib/libguv_hook.so "$WORK/consumer_plain" 10 || fail "the preloaded hook did not make usleep cooperative"

"$MAKE" --no-print-directory -s -C "$ROOT" uninstall PREFIX="$prefix" >/dev/null
[ ! -e "$prefix/lib/libguv_hook.so" ] && [ ! -e "$prefix/lib/pkgconfig/guv-hook.pc" ] || fail "uninstall left the hook's files"
step "passed"
