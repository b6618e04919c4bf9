#!/bin/sh
# The umbrella targets (make check, test, bench, soak, compat): runs their suites in order, each in a make of
# its own so that one failing does not hide the others, and says each one's time, its CPU time (user+sys of
# this shell's finished children) and the load: the machine may be shared. A group a+b runs a and b side by
# side (they share no server and mostly wait); b's output follows a's once both have ended. In `make test`
# each suite is started with alongside-<suite>, which builds later suites' programs at low priority.
#
# Usage: MAKE=make JOBS=2 OUT=build sh mk/suites.sh TARGET SUITE...
target=$1
shift
cpu() { awk -v hz="$(getconf CLK_TCK)" '{print int(($16 + $17) / hz)}' /proc/$$/stat; }
suite() {
    alongside=
    [ "$target" = test ] && alongside="alongside-$1"
    $MAKE --no-print-directory -j"$JOBS" -Otarget "$1" $alongside
}
mkdir -p "$OUT"
t0=$(date +%s)
pass=0
failed=
for group in "$@"; do
    start=$(date +%s)
    c=$(cpu)
    for s in $(echo "$group" | tr + ' '); do
        if [ "$s" = "$group" ]; then
            suite "$s"
            echo $? > "$OUT/$s.rc"
        else
            (suite "$s" > "$OUT/$s.log" 2>&1; echo $? > "$OUT/$s.rc") &
        fi
    done
    wait
    r=
    for s in $(echo "$group" | tr + ' '); do
        [ "$s" = "$group" ] || cat "$OUT/$s.log"
        if [ "$(cat "$OUT/$s.rc")" = 0 ]; then
            pass=$((pass + 1))
            r="$r $s passed"
        else
            failed="$failed $s"
            r="$r $s FAILED"
        fi
    done
    echo "==$r in $(($(date +%s) - start)) s, CPU $(($(cpu) - c)) s, load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "make $target: $(($(date +%s) - t0)) s, CPU $(cpu) s${failed:+; FAILED:$failed}"
echo "suites: $pass passed, $(echo $failed | wc -w) failed"
[ -z "$failed" ]
