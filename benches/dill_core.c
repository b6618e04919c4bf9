/* The libdill side of `make bench-core`: the same measures as benches/core.rs,
 * written against libdill's public API, so guv is compared with the best C
 * peer in the same run. Built only when LIBDILL_DIR names an installed
 * libdill (include/libdill.h, lib/libdill.a); none of libdill is in this
 * repository.
 *
 * Prints one "name ns" line per measure:
 *   yield  round trip A -> B -> A between two coroutines that only yield
 *   spawn  go() + hclose() of an empty coroutine (libdill runs it at once)
 *   chan   round trip over two unbuffered channels: libdill's nearest
 *          equivalent of guv's park/unpark wake (it has no park)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libdill.h>

/* CPU time of the process, as benches/core.rs measures guv. */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static coroutine void yielder(long n) {
    for (long i = 0; i < n; i++)
        yield();
}

/* Two coroutines that only yield while main waits for both in
 * bundle_wait, as guv's benchmark has main wait in guv_run. */
static double bench_yield(long n) {
    int b = bundle();
    bundle_go(b, yielder(n));
    bundle_go(b, yielder(n));
    double t = now_ns();
    bundle_wait(b, -1);
    double ns = (now_ns() - t) / n;
    hclose(b);
    return ns;
}

static coroutine void empty(void) {}

static double bench_spawn(long n) {
    double t = now_ns();
    for (long i = 0; i < n; i++) {
        int h = go(empty());
        hclose(h);
    }
    return (now_ns() - t) / n;
}

static coroutine void echo(int in, int out, long n) {
    int v;
    for (long i = 0; i < n; i++) {
        chrecv(in, &v, sizeof v, -1);
        chsend(out, &v, sizeof v, -1);
    }
}

static double bench_chan(long n) {
    int ab[2], ba[2];
    chmake(ab);
    chmake(ba);
    int h = go(echo(ab[1], ba[0], n));
    double t = now_ns();
    for (long i = 0; i < n; i++) {
        int v = (int)i;
        chsend(ab[0], &v, sizeof v, -1);
        chrecv(ba[1], &v, sizeof v, -1);
    }
    double ns = (now_ns() - t) / n;
    hclose(h);
    hclose(ab[0]);
    hclose(ab[1]);
    hclose(ba[0]);
    hclose(ba[1]);
    return ns;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    printf("yield %.2f\n", bench_yield(n));
    printf("spawn %.2f\n", bench_spawn(n / 5));
    printf("chan %.2f\n", bench_chan(n / 5));
    return 0;
}
