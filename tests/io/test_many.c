/* Many green threads blocked in I/O at once, each on its own socketpair:
 * every one is woken by its own peer's write, in any order, and none by
 * another's. */
#include <sys/resource.h>

#include "io.h"

enum { N = 500 };
static int pairs[N][2];
static int woke[N];
static int order_seen;

static void reader(void *arg) {
    long i = (long)(intptr_t)arg;
    long v = -1;
    ASSERT_EQ(guv_read(pairs[i][0], &v, sizeof v), sizeof v);
    ASSERT_EQ(v, i);
    woke[i] = ++order_seen;
}

/* Writes to the peers in a scrambled order, one every few turns. */
static void writer(void *arg) {
    (void)arg;
    for (long k = 0; k < N; k++) {
        long i = (k * 7919) % N;
        ASSERT_EQ(guv_write(pairs[i][1], &i, sizeof i), sizeof i);
        if (k % 50 == 0) {
            ASSERT_EQ(guv_sleep(0.001), 0);
            /* Only the readers written to so far have woken. */
            for (long j = k + 1; j < N; j++) ASSERT_EQ(woke[(j * 7919) % N], 0);
        }
    }
}

static void test_many_readers(void) {
    struct rlimit rl;
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * N + 64) {
        rl.rlim_cur = rl.rlim_max < 2 * N + 64 ? rl.rlim_max : 2 * N + 64;
        ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ASSERT(rl.rlim_cur >= 2 * N + 64);
    for (long i = 0; i < N; i++) {
        io_socketpair(pairs[i], 0);
        woke[i] = 0;
        ASSERT(guv_spawn(reader, (void *)(intptr_t)i) >= 1);
    }
    order_seen = 0;
    ASSERT_EQ(guv_sleep(0.02), 0);
    ASSERT_EQ(order_seen, 0);
    ASSERT(guv_spawn(writer, NULL) >= 1);
    ASSERT_EQ(guv_run(), 0);
    ASSERT_EQ(order_seen, N);
    for (long i = 0; i < N; i++) io_close2(pairs[i]);
}

int main(void) {
    RUN(test_many_readers);
    return 0;
}
