/*
 * Fixed amounts of work for instruction counts under callgrind, so a change
 * to the hub's hot path can be compared with a build without it:
 *
 *   cost yield N      two green threads yield to each other N times each
 *   cost hooks1 N     the same with one set of per-task hooks (each callback
 *   cost hooks2 N     counts the task's switches), or with two sets
 *   cost main N       main and a green thread yield to each other N times each
 *   cost wake N       N park/unpark round trips between two green threads
 *   cost sleep0 N     a green thread alone calls guv_sleep(0) N times
 *   cost spawn N      N spawns + exits of an empty green thread (batches of 1000)
 *   cost pingpong N   N one-byte round trips over a socketpair (guv_read/guv_write)
 *
 * Run twice (N and 2N) and divide the difference by N: startup cancels out.
 *
 *   cost time N       times yield, spawn and wake through the C API instead:
 *                     "yield|spawn|wake NS" lines, CPU ns per operation, as
 *                     benches/dill_core.c times libdill (make bench-core)
 */
#include <guv.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

static long n;
static int sv[2];
static int64_t peer, pong_id;

static void yielder(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) guv_yield();
}

/* Wakes the other and parks until woken back: one wake each way per round trip. */
static void parker(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) {
        guv_park(-1);
        guv_unpark(peer);
    }
}

static void unparker(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) {
        guv_unpark(pong_id);
        guv_park(-1);
    }
}

static void sleeper(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) guv_sleep(0);
}

static void empty(void *arg) { (void)arg; }

/* Hooks that do next to nothing, so that what is counted is guv's calling them. */
static long switches[2];
static void *on_start(void *userdata) { return userdata; }
static void on_switch(void *userdata, void *data) {
    (void)userdata;
    ++*(long *)data;
}
static int32_t on_may(void *userdata, void *data) {
    (void)userdata;
    return data != NULL;
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

/* CPU time of the process, as benches/core.rs and benches/dill_core.c measure. */
static double cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* CPU ns per operation of a guv_run() of `ops` operations. */
static double timed_run(long ops) {
    double t = cpu_ns();
    if (guv_run() != 0) exit(1);
    return (cpu_ns() - t) / ops;
}

/* `batches` times: 1000 spawns of an empty green thread, then guv_run(). */
static int spawn_batches(long batches) {
    for (long i = 0; i < batches; i++) {
        for (int j = 0; j < 1000; j++) guv_spawn(empty, NULL);
        if (guv_run() != 0) return 1;
    }
    return 0;
}

static int time_all(void) {
    guv_spawn(yielder, NULL);
    guv_spawn(yielder, NULL);
    printf("yield %.2f\n", timed_run(n));
    /* One batch untimed first, which makes its stacks, as the Rust rounds
     * after the first find them made. */
    if (spawn_batches(1) != 0) return 1;
    double t = cpu_ns();
    if (spawn_batches(n / 1000) != 0) return 1;
    printf("spawn %.2f\n", (cpu_ns() - t) / (n / 1000 * 1000));
    pong_id = guv_spawn(parker, NULL);
    peer = guv_spawn(unparker, NULL);
    printf("wake %.2f\n", timed_run(n));
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    n = atol(argv[2]);
    if (strcmp(argv[1], "time") == 0) return time_all();
    if (strcmp(argv[1], "yield") == 0) {
        guv_spawn(yielder, NULL);
        guv_spawn(yielder, NULL);
    } else if (strcmp(argv[1], "hooks1") == 0 || strcmp(argv[1], "hooks2") == 0) {
        for (int i = 0; i < argv[1][5] - '0'; i++) {
            guv_hooks h = {.size = sizeof(guv_hooks), .task_start = on_start, .switch_out = on_switch,
                           .switch_in = on_switch, .may_switch = on_may, .userdata = &switches[i]};
            if (guv_add_hooks(&h) < 0) return 1;
        }
        guv_spawn(yielder, NULL);
        guv_spawn(yielder, NULL);
    } else if (strcmp(argv[1], "main") == 0) {
        guv_spawn(yielder, NULL);
        for (long i = 0; i < n; i++) guv_yield();
    } else if (strcmp(argv[1], "wake") == 0) {
        /* Neither runs before guv_run, so both ids are known by then. */
        pong_id = guv_spawn(parker, NULL);
        peer = guv_spawn(unparker, NULL);
    } else if (strcmp(argv[1], "sleep0") == 0) {
        guv_spawn(sleeper, NULL);
    } else if (strcmp(argv[1], "spawn") == 0) {
        if (spawn_batches(n / 1000) != 0) return 1;
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
        guv_spawn(pong, NULL);
        guv_spawn(ping, NULL);
    }
    return guv_run() == 0 ? 0 : 1;
}
