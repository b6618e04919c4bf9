#!/usr/bin/env bash
# Packaging tests: install guv into temporary prefixes and build consumers
# against them the way users do: pkg-config (shared, then --static from a
# DESTDIR-staged tree), a CMake project using find_package(guv) from a moved
# tree, the header as C99 and C++11. Then check that uninstall removes what
# install put there and nothing else.
#
# Run by `make test-packaging`, which sets ROOT, WORK (a scratch directory), MAKE, CC and CXX.
set -euo pipefail
: "${ROOT:?}" "${WORK:?}" "${MAKE:=make}" "${CC:=cc}" "${CXX:=c++}"

here=$ROOT/tests/packaging
warn=(-Wall -Wextra -Werror -pedantic)
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -n 1)
major=${version%%.*}

fail() { echo "test-packaging: FAIL: $*" >&2; exit 1; }
step() { echo "test-packaging: $*"; }
install_guv() { "$MAKE" --no-print-directory -s -C "$ROOT" install "$@" >/dev/null; }
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# Every file and symlink under a directory, relative to it.
files_in() { (cd "$1" && find . ! -type d | sort); }

rm -rf "$WORK"
mkdir -p "$WORK"

step "install into a prefix: libraries, soname, symlinks, headers, guv.pc, CMake package"
prefix=$WORK/prefix
install_guv PREFIX="$prefix"
for f in lib/libguv.a "lib/libguv.so.$version" include/guv.h lib/pkgconfig/guv.pc \
         lib/cmake/guv/guvConfig.cmake lib/cmake/guv/guvConfigVersion.cmake; do
    [ -f "$prefix/$f" ] && [ ! -L "$prefix/$f" ] || fail "install did not put $f in the prefix"
done
[ "$(readlink "$prefix/lib/libguv.so.$major")" = "libguv.so.$version" ] || fail "libguv.so.$major is not a link to libguv.so.$version"
[ "$(readlink "$prefix/lib/libguv.so")" = "libguv.so.$major" ] || fail "libguv.so is not a link to libguv.so.$major"
soname=$(readelf -d "$prefix/lib/libguv.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libguv.so.$major" ] || fail "the shared library's soname is '$soname', not libguv.so.$major"
cmp -s "$ROOT/include/guv.h" "$prefix/include/guv.h" || fail "installed guv.h differs from include/guv.h"
while IFS= read -r h; do
    cmp -s "$ROOT/include/$h" "$prefix/include/$h" || fail "support header $h not installed"
done < <(cd "$ROOT/include" && find guv -type f 2>/dev/null)
if [ -f "$ROOT/bindings/cpp/guv.hpp" ]; then
    cmp -s "$ROOT/bindings/cpp/guv.hpp" "$prefix/include/guv.hpp" || fail "guv.hpp not installed"
fi

step "pkg-config, shared: C99 and C++11 consumers link libguv.so.$major and run"
pc() { PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH= pkg-config "$@"; }
[ "$(pc --modversion guv)" = "$version" ] || fail "pkg-config reports version $(pc --modversion guv)"
for std in c99 c11; do
    # shellcheck disable=SC2046 # pkg-config output is meant to be word-split
    "$CC" -std=$std "${warn[@]}" -fsyntax-only "$here/header_alone.c" $(pc --cflags guv)
done
for std in c++11 c++17; do
    # shellcheck disable=SC2046
    "$CXX" -x c++ -std=$std "${warn[@]}" -fsyntax-only "$here/header_alone.c" $(pc --cflags guv)
done
if [ -f "$prefix/include/guv.hpp" ]; then
    # The C++ binding compiles from the installed tree alone.
    # shellcheck disable=SC2046
    echo '#include <guv.hpp>' | "$CXX" -x c++ -std=c++17 "${warn[@]}" -fsyntax-only - $(pc --cflags guv)
fi
# shellcheck disable=SC2046 # pkg-config output is meant to be word-split
"$CC" -std=c99 "${warn[@]}" -o "$WORK/consumer-c" "$here/consumer.c" $(pc --cflags --libs guv)
# shellcheck disable=SC2046
"$CXX" -std=c++11 "${warn[@]}" -o "$WORK/consumer-cxx" "$here/consumer.cpp" $(pc --cflags --libs guv)
for exe in consumer-c consumer-cxx; do
    exe_needs=$(needed "$WORK/$exe")
    grep -qx "libguv.so.$major" <<<"$exe_needs" || fail "$exe does not load libguv.so.$major"
    LD_LIBRARY_PATH="$prefix/lib" "$WORK/$exe"
done

step "README's first program builds against the install and prints what it promises"
awk '/^## A first program/ { section = 1 } section && /^```c$/ { code = 1; next }
     code && /^```$/ { exit } code' "$ROOT/README.md" > "$WORK/readme_example.c"
[ -s "$WORK/readme_example.c" ] || fail "no C example under '## A first program' in README.md"
# shellcheck disable=SC2046
"$CC" -std=c99 "${warn[@]}" -o "$WORK/readme_example" "$WORK/readme_example.c" $(pc --cflags --libs guv)
readme_out=$(LD_LIBRARY_PATH="$prefix/lib" "$WORK/readme_example")
[ "$readme_out" = "$(printf 'got ping\ngot ping\ngot ping')" ] || fail "README example printed: $readme_out"

step "pkg-config --static from a DESTDIR-staged tree: Libs.private suffices to link libguv.a"
stage=$WORK/stage
install_guv DESTDIR="$stage" PREFIX=/opt/guv
grep -qx 'prefix=/opt/guv' "$stage/opt/guv/lib/pkgconfig/guv.pc" || fail "guv.pc does not name the final prefix /opt/guv"
# With the shared library gone, -lguv can only mean libguv.a.
rm -f "$stage/opt/guv/lib/"libguv.so*
spc() { PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$stage/opt/guv/lib/pkgconfig" PKG_CONFIG_PATH= pkg-config "$@"; }
# shellcheck disable=SC2046
"$CC" -std=c99 "${warn[@]}" -o "$WORK/consumer-static" "$here/consumer.c" $(spc --static --cflags --libs guv)
static_needs=$(needed "$WORK/consumer-static")
if grep -q libguv <<<"$static_needs"; then fail "consumer-static loads a shared libguv"; fi
"$WORK/consumer-static"

step "CMake: find_package(guv) from a moved install, guv::guv / guv_static / guv_shared under ctest"
moved=$WORK/moved
mv "$prefix" "$moved"
IFS=. read -r v_major v_minor v_patch <<<"$version"
refused="$v_major.$v_minor.$((v_patch + 1));$v_major.$((v_minor + 1));$((v_major + 1)).0"
cmake -S "$here/cmake" -B "$WORK/cmake" -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_BUILD_TYPE=Debug \
    -DGUV_EXPECTED_VERSION="$version" -DGUV_REFUSED_VERSIONS="$refused" >/dev/null
cmake --build "$WORK/cmake" >/dev/null
(cd "$WORK/cmake" && ctest --output-on-failure)

step "uninstall removes what install put there, and nothing else"
u=$WORK/uninstall
mkdir -p "$u/include" "$u/lib/pkgconfig" "$u/lib/cmake"
echo '/* not guv */' > "$u/include/other.h"
echo 'Name: other' > "$u/lib/pkgconfig/other.pc"
before=$(files_in "$u"; cd "$u" && find . -type d | sort)
install_guv PREFIX="$u"
[ "$(files_in "$u" | wc -l)" -gt 2 ] || fail "install put nothing in $u"
"$MAKE" --no-print-directory -s -C "$ROOT" uninstall PREFIX="$u" >/dev/null
after=$(files_in "$u"; cd "$u" && find . -type d | sort)
[ "$before" = "$after" ] || fail "after uninstall the prefix differs: $(diff <(echo "$before") <(echo "$after") || true)"

step "all packaging checks passed"
