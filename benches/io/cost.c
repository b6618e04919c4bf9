/*
 * Fixed amounts of work for instruction counts under callgrind, so a change
 * to the hub's hot path can be compared with a build without it:
 *
 *   cost yield N      two green threads yield to each other N times each
 *   cost pingpong N   N one-byte round trips over a socketpair (guv_read/guv_write)
 *
 * Run twice (N and 2N) and divide the difference by N: startup cancels out.
 */
#include <guv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static long n;
static int sv[2];

static void yielder(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) guv_yield();
}

static void pong(void *arg) {
    (void)arg;
    char c;
    while (guv_read(sv[1], &c, 1) == 1) guv_write(sv[1], &c, 1);
}

static void ping(void *arg) {
    (void)arg;
    char c = 'x';
    for (long i = 0; i < n; i++) {
        guv_write(sv[0], &c, 1);
        guv_read(sv[0], &c, 1);
    }
    shutdown(sv[0], SHUT_WR);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    n = atol(argv[2]);
    if (strcmp(argv[1], "yield") == 0) {
        guv_spawn(yielder, NULL);
        guv_spawn(yielder, NULL);
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
        guv_spawn(pong, NULL);
        guv_spawn(ping, NULL);
    }
    return guv_run() == 0 ? 0 : 1;
}
